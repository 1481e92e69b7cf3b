package kiosk

import (
	"bytes"
	"fmt"
	"os"

	"qorgau.kz/qorgau/internal/seal"
)

// ESC/POS commands of a receipt printer.
var (
	escInit       = []byte{0x1b, 0x40}       // ESC @: reset
	escCenter     = []byte{0x1b, 0x61, 0x01} // ESC a 1: centre
	escDouble     = []byte{0x1d, 0x21, 0x11} // GS ! 0x11: double width and height
	escNormal     = []byte{0x1d, 0x21, 0x00} // GS ! 0: normal size
	escFeed       = []byte{0x1b, 0x64, 0x04} // ESC d 4: feed four lines
	escPartialCut = []byte{0x1d, 0x56, 0x01} // GS V 1: partial cut
)

// ReceiptTicket returns the ESC/POS bytes of a receipt: the code in four
// groups, large, centred, then a feed and a cut. It prints only digits, so
// that any printer code page prints it, and nothing else that could say
// what the complaint was about.
func ReceiptTicket(code string) []byte {
	var b bytes.Buffer
	b.Write(escInit)
	b.Write(escCenter)
	b.Write(escDouble)
	b.WriteString(seal.FormatCode(code))
	b.WriteByte('\n')
	b.Write(escNormal)
	b.Write(escFeed)
	b.Write(escPartialCut)
	return b.Bytes()
}

// PrintReceipt writes the receipt of code to the printer device at path
// (e.g. /dev/usb/lp0). The device must exist: a missing printer is an
// error, not a new file.
func PrintReceipt(path, code string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	if _, err := f.Write(ReceiptTicket(code)); err != nil {
		f.Close()
		return fmt.Errorf("printer: %w", err)
	}
	return f.Close()
}
