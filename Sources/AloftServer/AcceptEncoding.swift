/// Reads an `Accept-Encoding` header (RFC 9110 §12.5.3): which content codings a client takes, with weights.
///
/// `Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] )`, `codings = content-coding / "identity" / "*"`.
/// Names and the `q` are case-insensitive. A coding is accepted when it is listed with a weight above 0 (no weight is 1),
/// or, when it is not listed, when `*` is; `deflate;q=0` refuses deflate whatever `*` says. A member that is not well
/// formed (a bad qvalue, a parameter other than the weight) is ignored, as if the client had not sent it.
public enum AcceptEncoding {
    /// Whether `header` (several header lines joined with commas) accepts `coding`, e.g. `deflate`.
    public static func accepts(_ coding: String, header: String) -> Bool {
        let coding = coding.lowercased()
        var wildcard: Int? = nil
        for member in header.split(separator: ",") {
            let parts = member.split(separator: ";", omittingEmptySubsequences: false)
            let name = parts[0].trimmingSpaces.lowercased()
            guard !name.isEmpty, let weight = weight(parts.dropFirst()) else { continue }
            if name == coding { return weight > 0 }  // the first mention decides
            if name == "*", wildcard == nil { wildcard = weight }
        }
        return (wildcard ?? 0) > 0
    }

    /// The weight in thousandths (`q=0.5` is 500; none is 1000), or nil when the parameters are not one weight.
    static func weight(_ parameters: ArraySlice<Substring>) -> Int? {
        guard let parameter = parameters.first else { return 1000 }
        guard parameters.count == 1 else { return nil }
        let text = parameter.trimmingSpaces
        guard text.count >= 2, text.prefix(2).lowercased() == "q=" else { return nil }
        return qvalue(text.dropFirst(2))
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
    static func qvalue(_ text: Substring) -> Int? {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        let whole = first == UInt8(ascii: "1") ? 1000 : 0
        guard bytes.count > 1 else { return whole }
        let fraction = bytes.dropFirst(2)
        guard bytes[1] == UInt8(ascii: "."), fraction.count <= 3, fraction.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var thousandths = 0
        for (index, digit) in fraction.enumerated() { thousandths += Int(digit - 0x30) * [100, 10, 1][index] }
        if whole == 1000 { return thousandths == 0 ? 1000 : nil }
        return thousandths
    }
}
