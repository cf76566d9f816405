package dev.nightshift.server.system;

import java.io.IOException;

/** Thrown from a request body stream once it passes its size limit; becomes 413. */
public class PayloadTooLargeException extends IOException {
  public PayloadTooLargeException(String message) {
    super(message);
  }
}
