/**
 * Minimal incremental MQTT frame reader: splits a TCP byte stream into
 * frames using only the fixed header (type/flags byte + variable-length
 * "remaining length"). Frame bodies are handed out as offsets into the
 * received chunk, so the common case allocates nothing.
 */

export interface FrameSink {
  /**
   * @param b0   first byte (packet type << 4 | flags)
   * @param buf  buffer containing the frame
   * @param body offset of the variable header in `buf`
   * @param end  offset one past the frame's last byte
   */
  onFrame(b0: number, buf: Buffer, body: number, end: number): void;
}

export class FrameReader {
  private pending: Buffer | null = null;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let pos = 0;
    while (len - pos >= 2) {
      const b0 = buf[pos]!;
      let i = pos + 1;
      let remaining = 0;
      let mult = 1;
      let done = false;
      for (let n = 0; n < 4 && i < len; n++) {
        const byte = buf[i++]!;
        remaining += (byte & 0x7f) * mult;
        mult *= 128;
        if ((byte & 0x80) === 0) {
          done = true;
          break;
        }
      }
      if (!done) {
        if (i - pos > 4) throw new Error("malformed MQTT remaining length");
        break; // header incomplete
      }
      const end = i + remaining;
      if (end > len) break; // body incomplete
      this.sink.onFrame(b0, buf, i, end);
      pos = end;
    }
    if (pos < len) this.pending = buf.subarray(pos);
  }
}
