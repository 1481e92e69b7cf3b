package seal

import "strings"

// bech32Encode encodes data as Bech32 (BIP 173) with the human-readable part
// hrp, without BIP 173's length limit, as age does. It exists because
// DeriveReply builds age identities from derived scalars, and age exports
// only parsers for identities, not a constructor from raw bytes; its own
// bech32 package is internal. The result is always checked by age's parser
// (see identityFromSeed), so a mistake here fails loudly, not silently.
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	hrp = strings.ToLower(hrp)

	// Regroup 8-bit bytes into 5-bit values, padding the last one.
	var values []byte
	var acc, bits uint
	for _, b := range data {
		acc = acc<<8 | uint(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			values = append(values, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		values = append(values, byte(acc<<(5-bits))&31)
	}

	// The checksum covers the expanded hrp, the values and six zeros.
	var expanded []byte
	for i := range len(hrp) {
		expanded = append(expanded, hrp[i]>>5)
	}
	expanded = append(expanded, 0)
	for i := range len(hrp) {
		expanded = append(expanded, hrp[i]&31)
	}
	expanded = append(expanded, values...)
	expanded = append(expanded, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(expanded) ^ 1

	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, v := range values {
		sb.WriteByte(charset[v])
	}
	for i := range 6 {
		sb.WriteByte(charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
