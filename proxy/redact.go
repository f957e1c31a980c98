package proxy

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// RedactPolicy says which contact details are removed from relayed SMS
// (Config.SMS.Redact). The zero value removes nothing.
//
// Matching runs on a normalised copy of the text, and what it finds is
// cut from the original, so the rest of the message reads as it was
// sent. The copy is lower-cased and NFKC-folded (full-width, circled,
// superscript and mathematical letters and digits become ASCII; ＠ is @),
// HTML character references are what they stand for (&#48; is 0,
// &commat; @), every Unicode digit is its ASCII digit (Arabic-Indic ٠١٢
// too), and so are Chinese numerals (零一二, 幺 for 1, 壹贰叁), every
// Unicode space is a space, dashes are "-", zero-width characters,
// variation selectors and combining marks go (a keycap 7️⃣ is 7), slashes
// (⁄ ∕) are "/", curly quotes are straight ones, other symbols, math
// signs, punctuation and emoji are separators, and a few Cyrillic and
// Greek letters that look Latin (о, а, е, ο) are their Latin twins. Then
// English digit words are digits ("seven", "oh", "double seven",
// "sevenseven"), and "(at)", "[at]", "{at}", "<at>", " at ", " @ " stand
// for @ and "(dot)", "[dot]", " dot ", " . " for a dot.
//
// It still misses, among others: numbers in words other than digit words
// ("seven hundred", "won" for 1, other languages' words: Korean 공칠칠),
// digits split by a word ("0770 then 900 then 123", "07700 dash 900") or
// by a comma and a space between groups of several digits ("07700, 900,
// 123", which reads as a list), digits sent over several SMS, letters
// between the digits of a number of fewer than ten digits
// ("0770x900x12", which reads like a size, 120x60x75), letters or
// punctuation other than O, l and I for digits, more letters than digits
// ("oh seven seven oh oh nine oh oh"), domains with a TLD it does not
// know ("example.pizza") or an English word for a TLD and no path
// ("bob.me"), a comma for the dot of an address before such a TLD
// ("bob@mail,me"), "at" with neither a TLD nor a mail provider after it
// ("bob at example"), "dot" run into a word ("exampledotcom"), letters
// spaced apart ("g m a i l"), social handles ("insta: bob_92",
// "@bob.92") and anything said in prose ("same name, on the blue app").
// It also removes some things that are not contact details: seven or
// more digits (an order reference, a sum without a currency sign, seven
// single digits in a list, 一、二、三… too), "dot com" after a word, and
// the word before " at " and a domain ("pay at mystore.shop" goes
// whole).
type RedactPolicy struct {
	// Phones removes phone numbers: seven or more digits (after the
	// normalisation above), with up to three separators between them
	// (spaces, . - / _ , ( ) : | % and the like, a leading "+"), counting
	// O as 0 and l or I as 1 inside words that are otherwise digits, as
	// long as real digits outnumber them. A letter alone between two
	// digits is a separator in a number of ten digits or more
	// ("07700x900x123", "0a7b7c0d0e9f0g0h1i2j3"). Kept: dates (2026-12-02,
	// 02.12.2026, 12/24/2026), times (17.30), sums after a currency sign
	// (£1,250,000) and anything shorter (order 1234, £12.50, 5pm).
	Phones bool
	// Emails removes e-mail addresses, obfuscated ones too ("bob (at)
	// example [dot] com", "bob at gmail", "bob@gmail,com" before a TLD
	// that is no English word, a quoted local part: "bob"@example.com).
	Emails bool
	// URLs removes links: anything with a scheme (https://, hxxp://),
	// www. addresses, and bare domains with a well-known top-level
	// domain (example.com, bit.ly/abc, paypal.me/bob, t.me/bob,
	// wa.me/447700900123); a domain that is also an English word (.me,
	// .be, .to, .in, .it, .co) counts with a path after it or when it is
	// a known shortener or chat link.
	URLs bool
	// Replacement stands in for each removed detail. Default "[removed]".
	Replacement string
}

// redact removes what p says from text and returns the text and what was
// removed ("2 phone numbers, 1 URL"), "" when nothing was. A link may
// hold an address or a number, which go with it; an address may hold a
// bare domain, which goes with the address; phone numbers are found
// outside both.
func (p RedactPolicy) redact(text string) (string, string) {
	if !p.Phones && !p.Emails && !p.URLs {
		return text, ""
	}
	n := normalise(text)
	var urls, emails []span // in n, in order, apart
	if p.URLs {
		urls = urlSpans(n.b)
	}
	if p.Emails {
		urls, emails = takeAddresses(urls, emailSpans(n.b))
	}
	var removed []string
	removed = tally(removed, len(urls), "1 URL", "URLs")
	removed = tally(removed, len(emails), "1 e-mail address", "e-mail addresses")
	found := slices.SortedFunc(slices.Values(append(urls, emails...)), func(a, b span) int { return a.lo - b.lo })
	if p.Phones {
		var k int
		found, k = addPhones(found, phoneSpans(n.b))
		removed = tally(removed, k, "1 phone number", "phone numbers")
	}
	if len(found) == 0 {
		return text, ""
	}
	repl := p.Replacement
	if repl == "" {
		repl = "[removed]"
	}
	return replaceSpans(text, n, found, repl), strings.Join(removed, ", ")
}

// tally appends to removed how many (k) of a kind of detail went: one
// ("1 URL") for one, "2 URLs" for two (many is "URLs"), nothing for
// none. one comes whole, so that it costs no allocation.
func tally(removed []string, k int, one, many string) []string {
	switch {
	case k == 1:
		removed = append(removed, one)
	case k > 1:
		removed = append(removed, fmt.Sprintf("%d %s", k, many))
	}
	return removed
}

// takeAddresses returns the links (urls) and e-mail addresses (addrs)
// to remove, both in order and apart: an address takes the bare domains
// inside it ("bob at example.com"), and a link with an address in it
// keeps it.
func takeAddresses(urls, addrs []span) ([]span, []span) {
	var emails []span
	var gone []bool // urls taken by an address
	for _, e := range addrs {
		i, j := overlapping(urls, e)
		if i < j && (urls[i].lo < e.lo || urls[j-1].hi > e.hi) {
			continue
		}
		if i < j && gone == nil {
			gone = make([]bool, len(urls))
		}
		for k := i; k < j; k++ {
			gone[k] = true
		}
		emails = append(emails, e)
	}
	if gone != nil {
		k := 0
		urls = slices.DeleteFunc(urls, func(span) bool { k++; return gone[k-1] })
	}
	return urls, emails
}

// addPhones inserts into found (in order, apart) the phone numbers
// phones that overlap none of it, and returns it and how many went in.
func addPhones(found, phones []span) ([]span, int) {
	k := 0
	for _, ph := range phones {
		if i, j := overlapping(found, ph); i == j {
			found = slices.Insert(found, i, ph)
			k++
		}
	}
	return found, k
}

// replaceSpans returns text with the original bytes that found (spans
// of n) stand for each replaced by repl, in order, overlaps merged.
func replaceSpans(text string, n *normalised, found []span, repl string) string {
	orig := make([]span, len(found))
	for i, s := range found {
		orig[i] = span{n.org[s.lo].lo, n.org[s.hi-1].hi}
	}
	slices.SortFunc(orig, func(a, b span) int { return a.lo - b.lo })
	var out strings.Builder
	out.Grow(len(text))
	at := 0
	for _, s := range orig {
		if s.lo < at { // overlaps the one before
			at = max(at, s.hi)
			continue
		}
		out.WriteString(text[at:s.lo])
		out.WriteString(repl)
		at = s.hi
	}
	out.WriteString(text[at:])
	return out.String()
}

// span is a half-open range of byte offsets.
type span struct{ lo, hi int }

// overlapping returns the spans[i:j] that overlap s, of spans in order
// and apart.
func overlapping(spans []span, s span) (i, j int) {
	i, _ = slices.BinarySearchFunc(spans, s.lo, func(t span, lo int) int { return cmp.Compare(t.hi, lo+1) })
	j = i
	for j < len(spans) && spans[j].lo < s.hi {
		j++
	}
	return i, j
}

// apart keeps, of spans in order of their start, those that overlap none
// before them.
func apart(spans []span) []span {
	out := spans[:0]
	for _, s := range spans {
		if len(out) == 0 || out[len(out)-1].hi <= s.lo {
			out = append(out, s)
		}
	}
	return out
}

// Markers the normalised text uses for an " at " and a " dot " that may
// stand for @ and a dot: they count only where what follows makes an
// address (a known top-level domain or mail provider).
const (
	softAt  = '\x01'
	softDot = '\x02'
)

// normalised is the text redaction matches against: b, and for each of
// its bytes the bytes of the original text it stands for.
type normalised struct {
	b   []byte
	org []span
}

// add appends c standing for the original bytes [lo, hi).
func (n *normalised) add(c byte, lo, hi int) {
	n.b = append(n.b, c)
	n.org = append(n.org, span{lo, hi})
}

// addRune appends r, each of its bytes standing for [lo, hi).
func (n *normalised) addRune(r rune, lo, hi int) {
	if r < utf8.RuneSelf {
		n.add(byte(r), lo, hi)
		return
	}
	var buf [utf8.UTFMax]byte
	for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
		n.add(c, lo, hi)
	}
}

// extend makes the last byte stand for the original up to hi too: a
// dropped character goes with the one before it, so that a removed "7️⃣"
// leaves no stray keycap behind.
func (n *normalised) extend(hi int) {
	if k := len(n.org); k > 0 {
		n.org[k-1].hi = hi
	}
}

// trimSpace drops trailing spaces, before an @ or dot that stands alone.
func (n *normalised) trimSpace() {
	for k := len(n.b); k > 0 && n.b[k-1] == ' '; k = len(n.b) {
		n.b, n.org = n.b[:k-1], n.org[:k-1]
	}
}

// normalise folds text character by character (fold), then rewrites
// digit words and obfuscated @ and dots (rewrite).
func normalise(text string) *normalised {
	return rewrite(fold(text))
}

// lookalikes are letters that pass for Latin ones, and punctuation that
// passes for @ or a dot, that NFKC leaves alone.
var lookalikes = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'ӏ': 'l',
	'А': 'a', 'Е': 'e', 'О': 'o', 'Р': 'p', 'С': 'c', 'Х': 'x', 'І': 'i', 'Ј': 'j', 'Ѕ': 's', 'М': 'm', 'Т': 't', 'Н': 'h', 'В': 'b', 'К': 'k',
	'ο': 'o', 'α': 'a', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ρ': 'p', 'τ': 't', 'Ο': 'o', 'Ι': 'i',
	'。': '.', '·': '.', '•': '.', '∙': '.', '⋅': '.', '・': '.', '‧': '.',
	'ⓐ': '@', '@': '@',
	'⁄': '/', '∕': '/', '⧸': '/', '×': 'x',
	'‘': '\'', '’': '\'', '‚': '\'', '“': '"', '”': '"', '„': '"',
	'،': ',',
	// Chinese and Japanese numerals, and 幺 (yāo), the 1 of a phone
	// number read aloud in Chinese; 十 and 百 are not digits, so 一百二十
	// (120) stays a word.
	'〇': '0', '零': '0', '一': '1', '幺': '1', '二': '2', '三': '3', '四': '4',
	'五': '5', '六': '6', '七': '7', '八': '8', '九': '9',
	'壹': '1', '贰': '2', '叁': '3', '肆': '4', '伍': '5', '陆': '6', '柒': '7', '捌': '8', '玖': '9',
}

// fold is the character-by-character half of normalise.
func fold(text string) *normalised {
	n := &normalised{b: make([]byte, 0, len(text)), org: make([]span, 0, len(text))}
	for i := 0; i < len(text); {
		if c := text[i]; c == '&' {
			if r, size := htmlEntity(text[i:]); size > 0 {
				lo, hi := i, i+size
				i = hi
				switch {
				case r < ' ' || r == 0x7f:
					n.add(' ', lo, hi)
				case r < utf8.RuneSelf:
					foldRune(n, r, lo, hi)
				default:
					foldNonASCII(n, string(r), r, lo, hi)
				}
				continue
			}
		}
		if c := text[i]; c < utf8.RuneSelf {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c < ' ' || c == 0x7f:
				c = ' '
			}
			n.add(c, i, i+1)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		lo, hi := i, i+size
		i = hi
		foldNonASCII(n, text[lo:hi], r, lo, hi)
	}
	return n
}

// foldNonASCII appends the folded form of r, a character beyond ASCII
// whose UTF-8 is enc, standing for [lo, hi) of the original (r itself,
// or an HTML entity for it).
func foldNonASCII(n *normalised, enc string, r rune, lo, hi int) {
	if d := norm.NFKC.PropertiesString(enc).Decomposition(); d != nil {
		for len(d) > 0 {
			dr, ds := utf8.DecodeRune(d)
			d = d[ds:]
			foldRune(n, dr, lo, hi)
		}
		return
	}
	foldRune(n, r, lo, hi)
}

// htmlEntities are the named HTML character references redaction reads
// (&commat; for @): the ones that make an address or a number.
var htmlEntities = map[string]rune{
	"commat": '@', "period": '.', "plus": '+', "sol": '/', "hyphen": '-', "dash": '-',
	"lowbar": '_', "colon": ':', "comma": ',', "lpar": '(', "rpar": ')', "num": '#', "nbsp": ' ',
}

// htmlEntity reads an HTML character reference at the start of s
// ("&#48;", "&#x30;", "&commat;"): the character and the reference's
// length, or 0 when there is none. A numeric one may lack its ";" (as
// browsers read it); it never reads more than a few bytes.
func htmlEntity(s string) (rune, int) {
	if len(s) < 3 || s[0] != '&' {
		return 0, 0
	}
	if s[1] != '#' {
		e := 1
		for e < len(s) && e < 9 && 'a' <= s[e] && s[e] <= 'z' {
			e++
		}
		if r, ok := htmlEntities[s[1:e]]; ok && e < len(s) && s[e] == ';' {
			return r, e + 1
		}
		return 0, 0
	}
	k, base := 2, rune(10)
	if s[k] == 'x' || s[k] == 'X' {
		k, base = 3, 16
	}
	var r rune
	e := k
	for ; e < len(s) && e-k < 7; e++ {
		d := rune(-1)
		switch c := s[e]; {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c|0x20 && c|0x20 <= 'f':
			d = rune(c|0x20-'a') + 10
		}
		if d < 0 {
			break
		}
		r = r*base + d
	}
	if e == k || r > unicode.MaxRune || 0xd800 <= r && r <= 0xdfff || r == 0 {
		return 0, 0
	}
	if e < len(s) && s[e] == ';' {
		e++
	}
	return r, e
}

// foldRune appends the folded form of r (a character of the original, or
// of its compatibility decomposition) standing for [lo, hi).
func foldRune(n *normalised, r rune, lo, hi int) {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		n.add(byte(r), lo, hi)
		return
	}
	if r == '、' || r == '﹑' { // the ideographic comma lists things: ", "
		n.add(',', lo, hi)
		n.add(' ', lo, hi)
		return
	}
	if l, ok := lookalikes[r]; ok {
		n.add(byte(l), lo, hi)
		return
	}
	switch {
	case unicode.IsLetter(r): // most of a text in another script
		n.addRune(unicode.ToLower(r), lo, hi)
	case unicode.Is(unicode.Nd, r):
		n.add('0'+byte(digitValue(r)), lo, hi)
	case unicode.IsSpace(r):
		n.add(' ', lo, hi)
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		n.extend(hi)
	case unicode.Is(unicode.Pd, r) || r == '−':
		n.add('-', lo, hi)
	case unicode.In(r, unicode.So, unicode.Sk, unicode.Sm, unicode.P):
		// Emoji, math symbols and punctuation other than the
		// lookalikes: a separator, like ~.
		n.add('~', lo, hi)
	default:
		n.addRune(unicode.ToLower(r), lo, hi)
	}
}

// digitValue is the value of the decimal digit r (Unicode category Nd).
// Unicode puts each script's digits 0 to 9 in a row, and the Nd table's
// ranges start at a 0 (a range that spans several scripts' digits spans
// whole rows).
func digitValue(r rune) int {
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	return 0
}

// digitWords are the English words for digits; "oh" is an O, which
// counts as 0 among digits only.
var digitWords = []struct {
	w string
	d byte
}{
	{"zero", '0'}, {"nought", '0'}, {"oh", 'o'}, {"one", '1'}, {"two", '2'}, {"three", '3'},
	{"four", '4'}, {"five", '5'}, {"six", '6'}, {"seven", '7'}, {"eight", '8'}, {"nine", '9'},
}

// spellDigits returns the digits w is made of ("seven" → "7",
// "sevenseven" → "77"), or nil when it is something else.
func spellDigits(w []byte) []byte {
	var ds []byte
next:
	for len(w) > 0 {
		for _, dw := range digitWords {
			if bytes.HasPrefix(w, []byte(dw.w)) {
				ds = append(ds, dw.d)
				w = w[len(dw.w):]
				continue next
			}
		}
		return nil
	}
	return ds
}

// repeats is 2 for "double", 3 for "triple", else 0.
func repeats(w []byte) int {
	switch string(w) {
	case "double":
		return 2
	case "triple":
		return 3
	}
	return 0
}

// rewrite is the word-by-word half of normalise: digit words become
// digits, and obfuscated @ and dots become @ and dots, or softAt and
// softDot where they may be plain English ("meet at the station").
func rewrite(in *normalised) *normalised {
	r := rewriter{in: in, b: in.b, n: &normalised{b: make([]byte, 0, len(in.b)), org: make([]span, 0, len(in.b))}}
	b := in.b
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case 'a' <= c && c <= 'z':
			i = r.word(i)
			continue
		case c == '(' || c == '[' || c == '{' || c == '<':
			if k, ok := r.bracketed(i); ok {
				i = k
				continue
			}
		case c == '@':
			i = r.mark('@', i, i+1)
			continue
		case c == '.' && i > 0 && b[i-1] == ' ' && i+1 < len(b) && b[i+1] == ' ':
			i = r.mark(softDot, i, i+1)
			continue
		}
		r.copy(i, i+1)
		i++
	}
	return r.n
}

// rewriter carries rewrite's state: the folded text in (and its bytes
// b) read from, and n written to.
type rewriter struct {
	in *normalised
	b  []byte
	n  *normalised
}

// from is the original bytes that in's bytes [i, j) stand for.
func (r *rewriter) from(i, j int) (int, int) { return r.in.org[i].lo, r.in.org[j-1].hi }

// skipSpace is where the spaces from j end.
func (r *rewriter) skipSpace(j int) int {
	for j < len(r.b) && r.b[j] == ' ' {
		j++
	}
	return j
}

// copy appends in's bytes [i, j) unchanged.
func (r *rewriter) copy(i, j int) {
	for k := i; k < j; k++ {
		r.n.add(r.b[k], r.in.org[k].lo, r.in.org[k].hi)
	}
}

// mark appends m (an @, a dot, softAt or softDot) for in's bytes [i, j),
// with the spaces on either side dropped, and returns where to go on.
func (r *rewriter) mark(m byte, i, j int) int {
	r.n.trimSpace()
	lo, hi := r.from(i, j)
	r.n.add(m, lo, hi)
	return r.skipSpace(j)
}

// word rewrites the word of letters at i: " at " and " dot " become soft
// marks, digit words digits ("sevenseven" 77, "double seven" 77); other
// words are copied. It returns where the word ends.
func (r *rewriter) word(i int) int {
	b := r.b
	j := i
	for j < len(b) && 'a' <= b[j] && b[j] <= 'z' {
		j++
	}
	w := b[i:j]
	spaced := i > 0 && b[i-1] == ' ' && j < len(b) && b[j] == ' '
	if spaced && (string(w) == "at" || string(w) == "dot") {
		mark := byte(softAt)
		if w[0] == 'd' {
			mark = softDot
		}
		return r.mark(mark, i, j)
	}
	if ds := spellDigits(w); ds != nil {
		lo, hi := r.from(i, j)
		for _, d := range ds {
			r.n.add(d, lo, hi)
		}
		return j
	}
	if e, ok := r.repeated(i, j); ok {
		return e
	}
	r.copy(i, j)
	return j
}

// repeated rewrites "double" or "triple", the word b[i:j], with the digit
// or digit word after it ("double 7", "triple-oh") as that digit two or
// three times, and returns where the digit ends; false when b[i:j] is
// no such word or no digit follows.
func (r *rewriter) repeated(i, j int) (int, bool) {
	b := r.b
	times := repeats(b[i:j])
	if times == 0 {
		return 0, false
	}
	k := j
	for k < len(b) && (b[k] == ' ' || b[k] == '-') {
		k++
	}
	var d byte
	e := k
	if k < len(b) && '0' <= b[k] && b[k] <= '9' {
		d, e = b[k], k+1
	} else {
		for e < len(b) && 'a' <= b[e] && b[e] <= 'z' {
			e++
		}
		if ds := spellDigits(b[k:e]); len(ds) == 1 {
			d = ds[0]
		}
	}
	if d == 0 || k == j {
		return 0, false
	}
	lo, hi := r.from(i, e)
	for range times {
		r.n.add(d, lo, hi)
	}
	return e, true
}

// bracketed rewrites an @ or dot in brackets at i ("(at)", "[dot]",
// "{ @ }", "<.>") as @ or a dot, and returns where to go on; false when
// the bracket at i holds no such thing.
func (r *rewriter) bracketed(i int) (int, bool) {
	b := r.b
	k := r.skipSpace(i + 1)
	var mark byte
	switch {
	case bytes.HasPrefix(b[k:], []byte("at")):
		mark, k = '@', k+2
	case bytes.HasPrefix(b[k:], []byte("dot")):
		mark, k = '.', k+3
	case k < len(b) && (b[k] == '@' || b[k] == '.'):
		mark, k = b[k], k+1
	}
	if k = r.skipSpace(k); mark != 0 && k < len(b) && strings.IndexByte(")]}>", b[k]) >= 0 {
		return r.mark(mark, i, k+1), true
	}
	return 0, false
}

// Top-level domains a bare domain may end in. The strong ones are seldom
// English words; the weak ones are ("me", "to"), and count only with a
// path after them or on a known host.
var (
	strongTLDs = "com|net|org|edu|gov|io|info|biz|xyz|app|dev|online|site|shop|store|link|" +
		"uk|de|fr|nl|es|ru|cn|ca|au|eu|ch|se|pl|jp|br|nz|ie|za|kr|ly|gl|gd|cc|tv|ws|gg|ee|su|vn|tk"
	weakTLDs = "me|be|co|to|in|it|is|us|at|so|am|as|do|go|id|my|no|on|ai|la|sh|im"
	// knownHosts are link shorteners and chat links, counted whatever
	// their TLD.
	knownHosts = map[string]bool{
		"t.me": true, "wa.me": true, "m.me": true, "fb.me": true, "paypal.me": true, "revolut.me": true,
		"youtu.be": true, "goo.gl": true, "bit.ly": true, "t.co": true, "is.gd": true, "ow.ly": true,
		"buff.ly": true, "rb.gy": true, "cutt.ly": true, "lnkd.in": true, "tiny.cc": true,
		"shorturl.at": true, "linktr.ee": true, "wa.link": true, "tinyurl.com": true, "monzo.me": true,
	}
	isWeakTLD = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range strings.Split(weakTLDs, "|") {
			m[t] = true
		}
		return m
	}()
	isStrongTLD = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range strings.Split(strongTLDs, "|") {
			m[t] = true
		}
		return m
	}()
	isTLD = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range strings.Split(strongTLDs+"|"+weakTLDs, "|") {
			m[t] = true
		}
		return m
	}()
	// mailProviders make "bob at gmail" an address without a domain.
	mailProviders = map[string]bool{
		"gmail": true, "googlemail": true, "hotmail": true, "outlook": true, "yahoo": true, "ymail": true,
		"icloud": true, "protonmail": true, "proton": true, "aol": true, "gmx": true, "yandex": true,
	}
)

// Classes of the normalised text's bytes.
func isLabelByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' }
func isLocalByte(c byte) bool { return isLabelByte(c) || strings.IndexByte("._%+", c) >= 0 }
func isDotByte(c byte) bool   { return c == '.' || c == softDot }
func isWordByte(c byte) bool  { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }
func isSpaceByte(c byte) bool { return c == ' ' }

// trimURL drops the punctuation a URL's sentence ends with.
func trimURL(b []byte, s span) span {
	for s.hi > s.lo && strings.IndexByte(".,;:!?)'\"", b[s.hi-1]) >= 0 {
		s.hi--
	}
	return s
}

// toSpace is where the run of non-spaces from i ends.
func toSpace(b []byte, i int) int {
	for i < len(b) && !isSpaceByte(b[i]) {
		i++
	}
	return i
}

// urlSpans finds links in the normalised text b: with a scheme
// ("https://", "hxxp://"), starting "www.", or bare domains with a known
// TLD.
func urlSpans(b []byte) []span {
	var out []span
	for i := 0; i < len(b); {
		k := bytes.Index(b[i:], []byte("://"))
		if k < 0 {
			break
		}
		k += i
		lo := k
		for lo > 0 && k-lo < 10 && ('a' <= b[lo-1] && b[lo-1] <= 'z' || '0' <= b[lo-1] && b[lo-1] <= '9' || strings.IndexByte("+.-", b[lo-1]) >= 0) {
			lo--
		}
		for lo < k && !('a' <= b[lo] && b[lo] <= 'z') {
			lo++
		}
		if k-lo >= 2 && (lo == 0 || !isWordByte(b[lo-1])) {
			out = append(out, trimURL(b, span{lo, toSpace(b, k)}))
		}
		i = max(toSpace(b, k), k+3)
	}
	for i := 0; i+4 <= len(b); i++ {
		if string(b[i:i+3]) == "www" && isDotByte(b[i+3]) && (i == 0 || !isWordByte(b[i-1])) {
			out = append(out, trimURL(b, span{i, toSpace(b, i)}))
			i = toSpace(b, i)
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.lo - b.lo })
	out = apart(out)
	schemes := len(out)
	// Bare domains: from each dot, a TLD after it and labels before it,
	// back to the last domain at most.
	floor := 0
	for d := 0; d < len(b); d++ {
		if !isDotByte(b[d]) {
			continue
		}
		end, tld := tldAt(b, d)
		if end < 0 || d == 0 || !isLabelByte(b[d-1]) {
			continue
		}
		lo := d
		for lo > floor && (isLabelByte(b[lo-1]) || isDotByte(b[lo-1]) && lo-1 > floor && isLabelByte(b[lo-2])) {
			lo--
		}
		for lo < d && !isWordByte(b[lo]) {
			lo++
		}
		// The longest run of TLDs: example.co.uk.
		for end < len(b) && isDotByte(b[end]) {
			e, t := tldAt(b, end)
			if e < 0 {
				break
			}
			end, tld, d = e, t, end
		}
		host := string(b[lo:end])
		if i := strings.LastIndexAny(host[:d-lo], ".\x02"); i >= 0 {
			host = host[i+1:]
		}
		hi := end
		hasPath := end+1 < len(b) && b[end] == '/' && !isSpaceByte(b[end+1])
		if hasPath {
			hi = toSpace(b, end)
		}
		s := span{lo, hi}
		d, floor = hi, hi
		soft := bytes.IndexByte(b[lo:end], softDot) >= 0
		switch {
		case lo > 0 && strings.IndexByte("@.-_/", b[lo-1]) >= 0, end < len(b) && (b[end] == '@' || b[end] == softAt):
			continue // part of an e-mail address, a longer word or a URL
		case isWeakTLD[tld] && (soft || !hasPath && !knownHosts[host]):
			continue // a word: "I'm here.Be quick"
		}
		if i, j := overlapping(out[:schemes], s); i == j {
			out = append(out, trimURL(b, s))
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.lo - b.lo })
	return apart(out)
}

// tldAt reads a known TLD after the dot at b[d]: where it ends and what it
// is, or -1.
func tldAt(b []byte, d int) (int, string) {
	e := d + 1
	for e < len(b) && 'a' <= b[e] && b[e] <= 'z' {
		e++
	}
	if e == d+1 || e < len(b) && isWordByte(b[e]) || !isTLD[string(b[d+1:e])] {
		return -1, ""
	}
	return e, string(b[d+1 : e])
}

// emailSpans finds e-mail addresses in the normalised text b. One
// written plainly needs any top-level domain; one with a soft @ or dot a
// known one, or a known mail provider ("bob at gmail").
func emailSpans(b []byte) []span {
	var out []span
	var labels []span // in b
	prev := 0         // where the address before ended
	for at := 0; at < len(b); at++ {
		if b[at] != '@' && b[at] != softAt {
			continue
		}
		lo := at
		for lo > prev && isLocalByte(b[lo-1]) {
			lo--
		}
		if lo == at && at > prev && b[at-1] == '"' {
			lo = quotedLocal(b, prev, at)
		}
		if lo == at {
			continue
		}
		// Labels, dot-separated, after the @. commaAt is the first
		// label after a comma for a dot ("bob@gmail,com"), or 0.
		// (They are read here, not in a function of their own, so
		// that a short list stays on the stack.)
		labels = labels[:0]
		soft := b[at] == softAt
		commaAt := 0
		for k := at + 1; k < len(b); {
			e := k
			for e < len(b) && isLabelByte(b[e]) {
				e++
			}
			if e == k {
				break
			}
			labels = append(labels, span{k, e})
			if e+1 < len(b) && (isDotByte(b[e]) || b[e] == ',') && isLabelByte(b[e+1]) {
				if b[e] == ',' && commaAt == 0 {
					commaAt = len(labels)
				}
				if commaAt == 0 {
					soft = soft || b[e] == softDot
				}
				k = e + 1
				continue
			}
			break
		}
		if len(labels) == 0 {
			continue
		}
		if end := domainEnd(b, labels, commaAt, soft); end > 0 {
			out = append(out, span{lo, end})
			at, prev = end-1, end
		}
	}
	return out
}

// domainEnd is where the address whose domain labels (after its @, up
// to the first that does not follow a dot or comma) are all ends, or -1 when they make none. The labels before a comma
// make an address as written: any TLD when nothing is soft, else the
// rightmost known TLD or a mail provider. A comma for a dot counts
// before a strong TLD only.
func domainEnd(b []byte, all []span, commaAt int, soft bool) int {
	labels := all
	if commaAt > 0 {
		labels = labels[:commaAt]
	}
	label := func(k int) []byte { return b[labels[k].lo:labels[k].hi] }
	end := -1
	switch {
	case !soft:
		if tld := label(len(labels) - 1); len(labels) > 1 && len(tld) >= 2 && isAlpha(tld) {
			end = labels[len(labels)-1].hi
		}
	default: // the rightmost known TLD ends the address
		for k := len(labels) - 1; k >= 1 && end < 0; k-- {
			if isTLD[string(label(k))] {
				end = labels[k].hi
			}
		}
		if end < 0 && mailProviders[string(label(0))] {
			end = labels[0].hi
		}
	}
	for k := len(all) - 1; commaAt > 0 && k >= commaAt; k-- {
		if isStrongTLD[string(b[all[k].lo:all[k].hi])] {
			return all[k].hi
		}
	}
	return end
}

// maxQuotedLocal is the longest quoted local part an address may have
// ("bob"@example.com): RFC 5321's 64 octets.
const maxQuotedLocal = 64

// quotedLocal is where the quoted local part that ends with the quote
// before b[at] starts (its opening quote), back to prev at most; at when
// there is none.
func quotedLocal(b []byte, prev, at int) int {
	for lo := at - 2; lo >= prev && at-lo <= maxQuotedLocal+2; lo-- {
		if b[lo] == '"' {
			if lo+1 == at-1 {
				return at // "" is no local part
			}
			return lo
		}
	}
	return at
}

// isAlpha reports whether s is all ASCII letters.
func isAlpha(s []byte) bool {
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// currencySigns may come before a sum.
var currencySigns = []string{"£", "$", "€", "¥", "₹"}

// keepSpans finds, in the normalised text b, what the phone scan must not
// take for digits of a number: dates, times (17.30, 09:15) and sums after
// a currency sign of at most nine digits (£1,250,000; not £07700...).
func keepSpans(b []byte) []span {
	var out []span
	group := func(i int) int { // where the digits from i end
		for i < len(b) && isDigitByte(b[i]) {
			i++
		}
		return i
	}
	for i := 0; i < len(b); i++ {
		for _, c := range currencySigns {
			if !bytes.HasPrefix(b[i:], []byte(c)) {
				continue
			}
			k := i + len(c)
			if k < len(b) && b[k] == ' ' {
				k++
			}
			e, digits := k, 0
			for e < len(b) && (isDigitByte(b[e]) || b[e] == ',' || b[e] == '.') {
				if isDigitByte(b[e]) {
					digits++
				}
				e++
			}
			if k < len(b) && isDigitByte(b[k]) && digits <= 9 && (b[k] != '0' || k+1 < len(b) && b[k+1] == '.') {
				out = append(out, span{i, e})
				i = e - 1
			}
		}
		if !isDigitByte(b[i]) || i > 0 && isDigitByte(b[i-1]) {
			continue
		}
		e1 := group(i)
		if e1+1 >= len(b) || strings.IndexByte("-./:", b[e1]) < 0 || !isDigitByte(b[e1+1]) {
			i = e1 - 1
			continue
		}
		e2 := group(e1 + 1)
		if e2+1 < len(b) && b[e2] == b[e1] && isDigitByte(b[e2+1]) {
			if e3 := group(e2 + 1); isDate(string(b[i:e3])) {
				out = append(out, span{i, e3})
				i = e3 - 1
				continue
			}
		}
		if e1-i <= 2 && e2-e1 == 3 && b[e1] != '-' && b[e1] != '/' && atoi(b[i:e1]) <= 24 && atoi(b[e1+1:e2]) <= 59 {
			out = append(out, span{i, e2})
			i = e2 - 1
			continue
		}
		i = e1 - 1
	}
	return out
}

// atoi is the value of the ASCII digits s.
func atoi[T string | []byte](s T) int {
	v := 0
	for _, c := range []byte(s) {
		v = v*10 + int(c-'0')
	}
	return v
}

// isDate reports whether m, digits in three groups with one separator
// (-, . or /) twice, is a date: a year 1900–2099 first or last, a month
// of 1 to 12 and a day of 1 to 31 (either order when the year is last).
func isDate(m string) bool {
	parts := strings.FieldsFunc(m, func(r rune) bool { return r == '-' || r == '.' || r == '/' })
	if len(parts) != 3 || strings.Count(m, m[len(parts[0]):len(parts[0])+1]) != 2 {
		return false
	}
	day := func(s string) bool { v := atoi(s); return v >= 1 && v <= 31 }
	month := func(s string) bool { v := atoi(s); return v >= 1 && v <= 12 }
	year := func(s string) bool { return len(s) == 4 && (s[:2] == "19" || s[:2] == "20") }
	switch {
	case year(parts[0]):
		return month(parts[1]) && day(parts[2])
	case year(parts[2]):
		return day(parts[0]) && month(parts[1]) || month(parts[0]) && day(parts[1])
	}
	return false
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// isLetterDigit reports whether c passes for a digit in a word of digits:
// o for 0, l and i for 1.
func isLetterDigit(c byte) bool { return c == 'o' || c == 'l' || c == 'i' }

// isPhoneSep reports whether c may stand between a phone number's digits.
func isPhoneSep(c byte) bool { return strings.IndexByte(" .-/_,()*~\\|:;=#^%", c) >= 0 }

// phoneMin is the fewest digits a phone number has: seven, as in a
// local number without its area code, and more than any short number
// people write (a price, a time, a flat, a four-digit code).
const phoneMin = 7

// phoneMinLettered is the fewest digits of a phone number with a letter
// standing alone between its digits ("07700x900x123", "0a7b7c..."):
// more than a size written with x (120x60x75, 1920x1080) or a hex code
// of a few digits has.
const phoneMinLettered = 10

// phoneSpans finds phone numbers in the normalised text b.
func phoneSpans(b []byte) []span {
	if bytes.IndexFunc(b, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
		return nil
	}
	// Dates, times and sums become '$': neither digit nor separator.
	if keep := keepSpans(b); keep != nil {
		b = bytes.Clone(b)
		maskSpans(b, keep)
	}
	// The caller makes digitish and the clone, so that for a short
	// text they stay on the stack.
	digitish := make([]bool, len(b))
	markDigitish(b, digitish)
	var out []span
	var units []phoneUnit
	for i := 0; i < len(b); {
		if !digitish[i] {
			i++
			continue
		}
		// A run: units with at most three separators between them.
		// (Read here, not in a function of their own, so that a short
		// run stays on the stack.)
		units = units[:0]
		lettered := false
		j := i
		for {
			u := phoneUnit{lo: j}
			for j < len(b) && digitish[j] {
				if isDigitByte(b[j]) {
					u.real++
				}
				j++
			}
			u.hi = j
			units = append(units, u)
			k := j
			for k < len(b) && k-j <= 3 && (isPhoneSep(b[k]) || isLetterSep(b, digitish, k)) {
				lettered = lettered || isLetterSep(b, digitish, k)
				k++
			}
			if k == j || k-j > 3 || k >= len(b) || !digitish[k] {
				break
			}
			// ", " between groups of several digits reads as a list.
			if bytes.Contains(b[j:k], []byte(", ")) && (u.hi-u.lo > 1 || k+1 < len(b) && digitish[k+1]) {
				break
			}
			j = k
		}
		i = max(j, i+1)
		if s, ok := phoneSpan(b, units, lettered); ok {
			out = append(out, s)
		}
	}
	return out
}

// maskSpans turns the bytes of b in spans to '$'.
func maskSpans(b []byte, spans []span) {
	for _, s := range spans {
		for k := s.lo; k < s.hi; k++ {
			b[k] = '$'
		}
	}
}

// markDigitish sets digitish[k] (len(b) of them) where b[k] counts as a
// digit: real digits always, letter digits (isLetterDigit) only in words
// of digits and letter digits alone, or words of three such letters at
// most.
func markDigitish(b []byte, digitish []bool) {
	for i := 0; i < len(b); {
		j, digits, letters, other := i, 0, 0, false
		for j < len(b) && (isDigitByte(b[j]) || 'a' <= b[j] && b[j] <= 'z') {
			switch {
			case isDigitByte(b[j]):
				digits++
			case isLetterDigit(b[j]):
				letters++
			default:
				other = true
			}
			j++
		}
		lettersCount := letters > 0 && !other && (digits > 0 || j-i <= 3)
		for k := i; k < j; k++ {
			digitish[k] = isDigitByte(b[k]) || lettersCount
		}
		i = max(j, i+1)
	}
}

// isLetterSep reports whether b[k] is a letter alone between two digits,
// not a digit itself ("x" of 07700x900x123): a separator, of a number of
// phoneMinLettered digits at least.
func isLetterSep(b []byte, digitish []bool, k int) bool {
	return k > 0 && k+1 < len(b) && 'a' <= b[k] && b[k] <= 'z' && !digitish[k] && isDigitByte(b[k-1]) && isDigitByte(b[k+1])
}

// phoneUnit is a group of digitish bytes [lo, hi) next to one another,
// real of them real digits.
type phoneUnit struct{ lo, hi, real int }

// phoneSpan is the phone number a run of units (digits with at most
// three separators between them) makes,
// with a "(" and a "+" before it, or false when it makes none: letter
// digits alone at either end are words ("I", "lol") and drop off, and
// what is left needs phoneMin digits, mostly real ones, and
// phoneMinLettered real ones when a letter separates them.
func phoneSpan(b []byte, units []phoneUnit, lettered bool) (span, bool) {
	for len(units) > 0 && units[0].real == 0 {
		units = units[1:]
	}
	for len(units) > 0 && units[len(units)-1].real == 0 {
		units = units[:len(units)-1]
	}
	real, all := 0, 0
	for _, u := range units {
		real, all = real+u.real, all+u.hi-u.lo
	}
	if all < phoneMin || 2*real <= all || lettered && real < phoneMinLettered {
		return span{}, false
	}
	s := span{units[0].lo, units[len(units)-1].hi}
	if s.lo > 0 && b[s.lo-1] == '(' && bytes.IndexByte(b[s.lo:s.hi], ')') >= 0 {
		s.lo--
	}
	if s.lo > 0 && b[s.lo-1] == '+' {
		s.lo--
	}
	return s, true
}
