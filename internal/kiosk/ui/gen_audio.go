//go:build ignore

// gen_audio speaks every "say.*" string of the kiosk's catalogues with
// espeak-ng and compresses it with opusenc into audio/<lang>/<name>.ogg
// (mono Ogg/Opus, 16 kbit/s), and writes audio/manifest.json with a hash of
// each text, so that a test can tell when a prompt changed and was not
// spoken again. Run it with go generate after changing a prompt:
//
//	apt-get install -y espeak-ng opus-tools
//	go generate ./internal/kiosk/ui
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// voices are espeak-ng's voices for the kiosk's languages.
var voices = map[string]string{"kk": "kk", "ru": "ru", "en": "en-us"}

func main() {
	manifest := map[string]string{}
	total := 0
	for _, lang := range []string{"kk", "ru", "en"} {
		b, err := os.ReadFile(filepath.Join("locales", lang+".json"))
		if err != nil {
			log.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			log.Fatal(err)
		}
		dir := filepath.Join("audio", lang)
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		var keys []string
		for k := range msgs {
			if strings.HasPrefix(k, "say.") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for i, k := range keys {
			name := strings.TrimPrefix(k, "say.")
			out := filepath.Join(dir, name+".ogg")
			// Slow, clear speech: -s words per minute, -g gap between words.
			speak := exec.Command("espeak-ng", "-v", voices[lang], "-s", "140", "-g", "4", "--stdout", msgs[k])
			var wav bytes.Buffer
			speak.Stdout, speak.Stderr = &wav, os.Stderr
			if err := speak.Run(); err != nil {
				log.Fatalf("espeak-ng %s %s: %v", lang, k, err)
			}
			enc := exec.Command("opusenc", "--quiet", "--bitrate", "16", "--downmix-mono", "--serial", "1",
				"--comp", "10", "-", out)
			enc.Stdin, enc.Stderr = &wav, os.Stderr
			if err := enc.Run(); err != nil {
				log.Fatalf("opusenc %s %s: %v", lang, k, err)
			}
			st, _ := os.Stat(out)
			total += int(st.Size())
			manifest[lang+"/"+name] = hash(msgs[k])
			fmt.Fprintf(os.Stderr, "\r%s %d/%d %s        ", lang, i+1, len(keys), name)
		}
	}
	b, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join("audio", "manifest.json"), append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "\n%d files, %d bytes\n", len(manifest), total)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
