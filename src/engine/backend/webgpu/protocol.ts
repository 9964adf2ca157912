/**
 * What the host (index.ts) and the device thread (device-thread.ts) exchange. The host writes operands into a
 * SharedArrayBuffer, posts one command, and blocks in Atomics.wait on the control word until the device thread
 * has run the kernels and written the results back into the same buffer.
 */
export type GpuOp = 'matmul' | 'conv2d' | 'conv2dBackward' | 'attention' | 'attentionBackward';

/** A window of the shared data buffer: [float offset, float length]. */
export type Slot = readonly [offset: number, length: number];

export interface GpuCommand {
  readonly op: GpuOp;
  /** Sizes and flags by name; device-thread.ts packs them in the order of the kernel's uniform struct. */
  readonly dims: Readonly<Record<string, number>>;
  /** Buffers uploaded before the kernels run (an accumulated output is listed here too). */
  readonly inputs: Readonly<Record<string, Slot>>;
  /** Buffers copied back after the kernels ran. */
  readonly outputs: Readonly<Record<string, Slot>>;
  readonly data: SharedArrayBuffer;
}

/** Sent once by the device thread after start-up. */
export type DeviceHello = { readonly kind: 'ready'; readonly adapter: string } | { readonly kind: 'unavailable'; readonly reason: string };

/** Control block layout (Int32 words): state, then the byte length and UTF-8 bytes of an error message. */
export const STATE = 0;
export const MESSAGE_LENGTH = 1;
export const MESSAGE_START_BYTE = 8;
export const CONTROL_BYTES = 8 + 4096;
export const WORKING = 0;
export const DONE = 1;
export const FAILED = 2;
