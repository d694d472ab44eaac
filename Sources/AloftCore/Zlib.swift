import CompressNIO
import NIOCore

/// The zlib format (RFC 1950) as Aloft writes it, for a device's inflater (MicroPython's `deflate.DeflateIO`): best
/// compression, memory level 8, and a window of `2^windowBits` bytes, which is all the history the device then keeps.
/// Blobs use 1 KiB (`BlobStore.zlibWindowBits`, docs/protocol.md), the agent pack's deflated modules 512 bytes
/// (`AgentPack`, docs/device.md).
public enum Zlib {
    public static func compress(_ bytes: ByteBuffer, windowBits: Int32) throws -> ByteBuffer {
        var input = bytes
        // The Int32 initializer takes wbits directly (the enum one names sizes by memory use, not window).
        let configuration = ZlibConfiguration(windowSize: windowBits, compressionLevel: Int32(9), memoryLevel: Int32(8))
        return try input.compress(with: .zlib, configuration: configuration)
    }
}
