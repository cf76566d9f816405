package dev.nightshift.cli;

import java.io.IOException;

/** An items file that cannot be read as its format says; aborts the upload, so the server keeps nothing. */
final class ItemsException extends IOException {
  ItemsException(String message) {
    super(message);
  }
}
