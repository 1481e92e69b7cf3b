package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Speaker reads a text aloud: it returns a recording and its media type.
// Nothing is written to disk. Options.Speak takes one; Espeak is the
// kiosk's.
type Speaker func(ctx context.Context, lang, text string) (audio []byte, mediaType string, err error)

// maxSpoken bounds the text read aloud at once (a long answer is read up to
// there; the screen shows all of it).
const maxSpoken = 4000

// Espeak returns a Speaker that runs espeak-ng (Debian: apt-get install
// espeak-ng) and, when opusenc is on PATH, compresses its output to Ogg/Opus;
// otherwise the answer is WAV. The text goes through pipes only.
func Espeak(espeak string) Speaker {
	voices := map[string]string{"kk": "kk", "ru": "ru", "en": "en-us"}
	return func(ctx context.Context, lang, text string) ([]byte, string, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		voice := voices[lang]
		if voice == "" {
			voice = "ru"
		}
		var wav, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, espeak, "-v", voice, "-s", "140", "--stdout")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(text), &wav, &errb
		if err := cmd.Run(); err != nil {
			return nil, "", fmt.Errorf("espeak-ng: %v: %s", err, strings.TrimSpace(errb.String()))
		}
		opus, err := exec.LookPath("opusenc")
		if err != nil {
			return wav.Bytes(), "audio/wav", nil
		}
		var ogg bytes.Buffer
		enc := exec.CommandContext(ctx, opus, "--quiet", "--bitrate", "16", "--downmix-mono", "-", "-")
		enc.Stdin, enc.Stdout, enc.Stderr = &wav, &ogg, &errb
		if err := enc.Run(); err != nil {
			return nil, "", fmt.Errorf("opusenc: %v: %s", err, strings.TrimSpace(errb.String()))
		}
		return ogg.Bytes(), "audio/ogg", nil
	}
}

// textLang guesses the language of a reply for the voice: Kazakh letters
// mean Kazakh, other Cyrillic Russian, else English.
func textLang(s string) string {
	cyr := false
	for _, r := range s {
		if strings.ContainsRune("әғқңөұүһіӘҒҚҢӨҰҮҺІ", r) {
			return "kk"
		}
		if r >= 'Ѐ' && r <= 'ӿ' {
			cyr = true
		}
	}
	if cyr {
		return "ru"
	}
	return "en"
}

// hear reads a reply of the answers on screen aloud: ?c=complaint&r=index.
func (u *ui) hear(w http.ResponseWriter, r *http.Request, s *session) bool {
	c, _ := strconv.ParseInt(r.FormValue("c"), 10, 64)
	i, err := strconv.Atoi(r.FormValue("r"))
	if u.o.Speak == nil || err != nil {
		http.NotFound(w, r)
		return false
	}
	for _, a := range s.answers {
		if a.Complaint != c || i < 0 || i >= len(a.Replies) {
			continue
		}
		text := a.Replies[i].Text
		if len(text) > maxSpoken {
			text = strings.ToValidUTF8(text[:maxSpoken], "")
		}
		audio, typ, err := u.o.Speak(r.Context(), textLang(text), text)
		if err != nil {
			u.log.Error("kiosk ui: speak", "err", err)
			http.Error(w, "cannot speak", http.StatusInternalServerError)
			return false
		}
		w.Header().Set("Content-Type", typ)
		w.Write(audio)
		return false
	}
	http.NotFound(w, r)
	return false
}
