package imgio

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// Decoded-memory estimates. A 300 KB PNG may announce 40 megapixels of 16-bit RGBA, which image/png decodes into
// 320 MB before this package converts it (120 MB more) and the engine builds its pyramid: the pixel limit alone
// does not bound memory, because what a pixel costs depends on the format's header (bit depth, channels,
// interlacing, JPEG sampling factors and progressive mode). footprintOf computes that cost from the header, before
// any pixel memory is allocated, and Decode refuses an image whose footprint is over Limits.MaxMemory. No decoder
// used here can be cancelled, so refusing up front is the only bound.
//
// The model follows an image through its life, stage by stage, counting what each stage holds at once:
//
//	decode   the decoder's allocations: its output image, its working memory (JPEG progressive coefficients,
//	         Adam7 pass images, a GIF's de-interlacing copy, WebP transforms), plus the input length as a bound on
//	         any buffering of it
//	convert  the decoder's output and the packed RGB Image (3 bytes a pixel) FromStd fills from it
//	orient   the Image and its upright copy, when the EXIF orientation turns or mirrors it
//	analyse  the Image and the engine's pyramid of 2x2 halvings (at most 1 byte a pixel: 3/4 + 3/16 + ...)
//
// The footprint is the largest of these. The tests measure every stage's allocations (runtime.MemStats
// TotalAlloc) for the worst image of each format that a limit accepts, and check them against the estimate.

// footprint is the memory estimate of one image, in bytes.
type footprint struct {
	kind   string // what the header says in people's words: "16-bit RGBA PNG", "progressive JPEG"
	w, h   int    // stored dimensions
	advice string // how to send the same picture more cheaply, besides making it smaller; may be empty

	decoder int64 // everything the decoder allocates (its output and fixed included)
	fixed   int64 // of which what does not grow with the pixels: tables, buffers, the input
	output  int64 // the decoder's output image alone, held while FromStd converts it
	image   int64 // the packed RGB Image
	upright int64 // the upright copy made by Orient, 0 when the orientation is 1
	pyramid int64 // the engine's pyramid of halvings
	native  int64 // a native decoder's attempt (libjpeg: its Image plus C memory), 0 when there is none
}

// peak is the most the image holds at once: the largest stage.
func (fp footprint) peak() int64 {
	return max(fp.native, fp.decoder, fp.output+fp.image, fp.image+fp.upright, fp.image+fp.pyramid)
}

// allocated bounds what Decode allocates in all (the Go heap's TotalAlloc over one call): every stage, the native
// attempt's Go image included, since a native decoder that gives up leaves its image for the collector.
func (fp footprint) allocated() int64 {
	a := fp.decoder + fp.image + fp.upright
	if fp.native > 0 {
		a += fp.image
	}
	return a
}

// check refuses a footprint over limit with ErrTooLarge and a sentence saying what to send instead.
func (fp footprint) check(limit int64) error {
	need := fp.peak()
	if need <= limit {
		return nil
	}
	px := int64(fp.w) * int64(fp.h)
	fits := int64(float64(px) * float64(limit) / float64(need)) // pixels of this kind that fit the limit
	if fits >= 1_000_000 {
		fits = fits / 100_000 * 100_000
	} else {
		fits = fits / 1000 * 1000
	}
	advice := "send a smaller image"
	if fp.advice != "" {
		advice = "send " + fp.advice + " or a smaller image"
	}
	return withPlain(fmt.Errorf("imgio: %s of %dx%d needs an estimated %d bytes to decode, limit %d: %w",
		fp.kind, fp.w, fp.h, need, limit, ErrTooLarge),
		"the %s of %s megapixels would need %s of memory to decode; the limit is %s: %s (at most %s megapixels of this kind)",
		fp.kind, megapixels(px/1000*1000), byteSize(need), byteSize(limit), advice, megapixels(fits))
}

// footprintOf estimates the memory of decoding data, a valid header of format f whose std decoder reported cfg.
// orientation is the EXIF orientation Decode will apply. It reads headers and markers, never pixel data.
func footprintOf(f Format, data []byte, cfg image.Config, orientation int) (footprint, error) {
	w, h := cfg.Width, cfg.Height
	px := int64(w) * int64(h)
	fp := footprint{kind: formatName(f), w: w, h: h, image: 3 * px, pyramid: px}
	if orientation >= 2 && orientation <= 8 {
		fp.upright = 3 * px
	}
	// Fixed working memory of any decoder (Huffman tables, zlib window, bufio) and the input itself.
	const scratch = 1 << 20
	base := int64(scratch + len(data))
	fp.fixed = base

	switch f {
	case PNG:
		hd, err := parsePNGHeader(data)
		if err != nil {
			return footprint{}, err
		}
		fp.kind, fp.advice = hd.kind(), hd.advice()
		fp.output = hd.bytesPerPixel() * px
		fp.decoder = base + fp.output + 2*int64(hd.rowBytes()+1)
		if hd.interlaced {
			fp.decoder += fp.output // one image per Adam7 pass, merged into the full one
		}
	case JPEG:
		hd, err := parseJPEGHeader(data)
		if err != nil {
			return footprint{}, err
		}
		fp.kind, fp.advice = hd.kind(), hd.advice()
		if err := checkScans(hd, px); err != nil {
			return footprint{}, err
		}
		fp.output, fp.decoder = hd.goCost(w, h)
		fp.decoder += base
		if fastJPEG != nil {
			fp.native = fp.image + hd.libjpegCost() + base
		}
	case GIF:
		// The first frame lies within the logical screen (image/gif checks); an interlaced frame is copied
		// once more to put its rows in order.
		fp.output = px
		fp.decoder = base + 2*px
	case WebP:
		// x/image/webp's DecodeConfig reports an extended (VP8X) file as lossy whatever its image chunk is.
		switch {
		case cfg.ColorModel == color.NRGBAModel || webpHasChunk(data, "VP8L"):
			fp.kind = "lossless WebP"
			fp.output = 4 * px
			fp.fixed += vp8lHuffman(w, h)
			fp.decoder = fp.fixed + vp8lCost(px)
		default: // lossy VP8: 4:2:0 in whole 16x16 macroblocks
			mb := int64((w+15)/16) * int64((h+15)/16)
			fp.output = mb * 384
			fp.decoder = base + fp.output + mb*64
			if cfg.ColorModel == color.NYCbCrAModel || webpHasChunk(data, "ALPH") {
				// The alpha plane, decoded as a VP8L image whose green channel it is, then copied out.
				fp.kind = "WebP with alpha"
				fp.output += px
				fp.fixed += vp8lHuffman(w, h)
				fp.decoder += vp8lHuffman(w, h) + vp8lCost(px) + px
			}
		}
	case BMP:
		if len(data) < 30 {
			return footprint{}, fmt.Errorf("imgio: bmp header: %w", ErrTruncated)
		}
		bpp := int64(binary.LittleEndian.Uint16(data[28:30]))
		fp.kind = fmt.Sprintf("%d-bit BMP", bpp)
		fp.output = px // palette images
		if bpp > 8 {
			fp.output = 4 * px
		}
		fp.decoder = base + fp.output + 4*int64(w)
	default:
		return footprint{}, fmt.Errorf("imgio: no memory estimate for %s: %w", f, ErrUnsupported)
	}
	return fp, nil
}

// maxScanSamples bounds the work of decoding a JPEG: the samples its scans make a decoder visit, each scan counting
// the padded planes of the components it names (a grey scan of 40 megapixels: 4*10^7). Every scan makes a decoder
// visit every block of its components again, and a scan of nothing but end-of-band runs takes a few dozen bytes: a
// 126 KB progressive JPEG of 40 megapixels with 1000 such scans kept image/jpeg busy for 70 s and libjpeg for 7 s
// (2 loaded cores), past any request timeout, and neither can be stopped. Real files cover 1 to 3 times their pixels
// (baseline), 8 (progressive 4:2:0, libjpeg's script of 10 scans) or 14 (progressive 4:4:4): the bound admits 16
// planes of 40 megapixels, and the costliest scans it admits take about 0.7 s with image/jpeg and 0.3 s with libjpeg (2 cores,
// TestJPEGWorstAcceptedScans), so Decode's fallback from one to the other stays cheap.
const maxScanSamples = 640_000_000

// maxScans bounds the scans of any JPEG, whatever its size, as libjpeg-turbo's TurboJPEG API does (its scan limit,
// 500): a scan costs a decoder a fixed setup besides its samples, and no encoder writes more than a few dozen.
const maxScans = 500

// checkScans refuses a JPEG with more scans than maxScans, or whose scans cover more than maxScanSamples.
func checkScans(hd jpegHeader, px int64) error {
	if hd.scans <= maxScans && hd.scanSamples <= maxScanSamples {
		return nil
	}
	most := int64(maxScans) // scans of this file's average size that fit both bounds
	if hd.scanSamples > 0 {
		most = min(most, maxScanSamples*int64(hd.scans)/hd.scanSamples)
	}
	advice := "send a smaller image"
	if hd.progressive {
		advice = "send a baseline (non-progressive) JPEG or a smaller image"
	}
	size := megapixels(px/1000*1000) + " megapixels"
	if px < 1_000_000 {
		size = fmt.Sprintf("%dx%d pixels", hd.w, hd.h)
	}
	return withPlain(fmt.Errorf("imgio: %s of %dx%d has %d scans covering %d samples, limits %d scans and %d samples: %w",
		hd.kind(), hd.w, hd.h, hd.scans, hd.scanSamples, maxScans, maxScanSamples, ErrTooLarge),
		"the %s of %s has %d scans, too many to decode in time (at most %d at this size): %s",
		hd.kind(), size, hd.scans, most, advice)
}

// vp8lCost bounds what x/image/vp8l allocates for a px-pixel lossless image: the 4-byte ARGB pixels, a second copy
// when a colour-indexing transform unpacks bundled pixels, and the subsampled predictor, cross-colour and entropy
// images (at least 4x4 pixels a sample: at most a quarter byte a pixel each).
func vp8lCost(px int64) int64 { return 4*px + 4*px + 3*px/4 }

// vp8lHuffman bounds the Huffman trees x/image/vp8l builds for a w×h lossless image, which do not depend on its
// pixels: up to 2600 groups of five trees (at most one group per 4x4 tile of the image), each up to 53 KB with the
// largest colour cache, plus up to 12.5 KB of code lengths read for each of 2600 group indices. A 400 KB file of
// a few hundred pixels can ask for 170 MB this way.
func vp8lHuffman(w, h int) int64 {
	const maxGroups, group, lengths = 2600, 53 << 10, 12800
	tiles := int64((w+3)/4) * int64((h+3)/4)
	return min(maxGroups, tiles)*group + maxGroups*lengths
}

// pnmFootprint is the estimate for a P5/P6 image, which decodePNM writes straight into the Image.
func pnmFootprint(hd pnmHeader) footprint {
	px := int64(hd.w) * int64(hd.h)
	kind := "PPM"
	if hd.channels == 1 {
		kind = "PGM"
	}
	return footprint{kind: kind, w: hd.w, h: hd.h, image: 3 * px, pyramid: px, decoder: 64 << 10, fixed: 64 << 10}
}
