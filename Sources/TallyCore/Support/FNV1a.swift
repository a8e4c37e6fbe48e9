/// FNV-1a, 64 bits: a short, stable digest of a text (the same in every
/// process and on every machine, unlike `Hasher`), written in base 36.
/// Names ETags, schema-map fingerprints and zone tables; not for security.
package enum FNV1a {
    package static func base36(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return String(hash, radix: 36)
    }
}
