import AloftServer
import Testing

/// `Accept-Encoding` as RFC 9110 §12.5.3 has it: tokens, weights, `*`.
@Suite struct AcceptEncodingTests {
    @Test(arguments: [
        "deflate", "DEFLATE", "Deflate", "gzip, deflate", "deflate;q=1", "deflate;q=1.0", "deflate;q=1.000", "deflate;q=0.001", "deflate; q=0.5",
        "deflate ;Q=0.5", "gzip;q=1, deflate;q=0.1", "*", "*;q=0.2", "gzip;q=0, *", ",, deflate ,", "br, deflate;q=0.5, *;q=0",
        "deflate;q=0.5, deflate;q=0", "deflate;q=bad, *",
    ])
    func accepts(_ header: String) {
        #expect(AcceptEncoding.accepts("deflate", header: header), "\(header)")
    }

    @Test(arguments: [
        "", "gzip", "identity", "gzip, br", "deflate;q=0", "deflate;q=0.0", "deflate;q=0.000", "deflate;q=0, *", "*;q=0", "*;q=0, gzip",
        "deflate;q=1.5", "deflate;q=2", "deflate;q=0.0001", "deflate;q=.5", "deflate;q=", "deflate;level=9", "deflate;q=0.5;x=1",
        "x-deflate", "deflatex", "de flate", "deflate;q=1.001",
    ])
    func refuses(_ header: String) {
        #expect(!AcceptEncoding.accepts("deflate", header: header), "\(header)")
    }
}
