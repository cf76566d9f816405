package dev.nightshift.protocol;

/**
 * An order from the server, carried in a heartbeat reply.
 *
 * @param type what to do
 * @param batchId the batch concerned, for lease instructions
 * @param leaseToken the lease concerned, for lease instructions
 * @param commit the commit concerned, for code instructions
 * @param reason why, in words an operator understands
 */
public record Instruction(InstructionType type, Long batchId, String leaseToken, String commit, String reason) {

  public static Instruction cancelLease(long batchId, String leaseToken, String reason) {
    return new Instruction(InstructionType.CANCEL_LEASE, batchId, leaseToken, null, reason);
  }

  public static Instruction of(InstructionType type, String reason) {
    return new Instruction(type, null, null, null, reason);
  }
}
