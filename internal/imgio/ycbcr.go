package imgio

import "image"

// JFIF (full-range BT.601) YCbCr→RGB coefficients in 16.16 fixed point:
//
//	R = Y + 1.402    (Cr-128)
//	G = Y - 0.344136 (Cb-128) - 0.714136 (Cr-128)
//	B = Y + 1.772    (Cb-128)
const (
	fixCrR = 91881  // 1.402    * 65536
	fixCbG = 22554  // 0.344136 * 65536
	fixCrG = 46802  // 0.714136 * 65536
	fixCbB = 116130 // 1.772    * 65536
	fixOne = 1 << 16
	fixRnd = 1 << 15
)

// clampFix converts a 16.16 fixed-point value to a byte, saturating at 0
// and 255.
func clampFix(v int32) uint8 {
	v >>= 16
	v &^= v >> 31 // negative → 0 (arithmetic shift yields all ones)
	return uint8(min(v, 255))
}

// ycbcrToRGB converts one full-range YCbCr sample to RGB. It differs from
// color.YCbCrToRGB by at most 1 per channel (this version rounds to
// nearest).
func ycbcrToRGB(y, cb, cr uint8) (r, g, b uint8) {
	yy := int32(y)*fixOne + fixRnd
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	return clampFix(yy + fixCrR*cr1), clampFix(yy - fixCbG*cb1 - fixCrG*cr1), clampFix(yy + fixCbB*cb1)
}

// chromaShift returns log2 of the horizontal and vertical chroma
// subsampling factors of r.
func chromaShift(r image.YCbCrSubsampleRatio) (hs, vs uint, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// fromYCbCr converts a planar YCbCr image with a tight integer loop: one
// row slice per plane, no interface calls and no per-pixel allocation.
func fromYCbCr(src *image.YCbCr) *Image {
	rect := src.Rect
	w, h := rect.Dx(), rect.Dy()
	hs, vs, ok := chromaShift(src.SubsampleRatio)
	if !ok {
		return fromGeneric(src)
	}
	dst := NewImage(w, h)
	if w == 0 || h == 0 {
		return dst
	}
	if rect.Min.X < 0 || rect.Min.Y < 0 {
		// image.YCbCr locates chroma samples with truncating division of
		// absolute coordinates; for negative origins the row-phase trick
		// below does not hold, so use the (concrete, non-interface)
		// offset methods directly. Such images never come from decoders.
		fromYCbCrOffsets(src, dst)
		return dst
	}
	// For a non-negative origin, the chroma column of absolute x is
	// x>>hs - Min.X>>hs == (x-Min.X + phase)>>hs with phase = Min.X mod 2^hs,
	// and likewise for rows.
	phase := rect.Min.X & (1<<hs - 1)
	cw := (phase+w-1)>>hs + 1
	cy0 := rect.Min.Y >> vs
	for j := 0; j < h; j++ {
		yi := j * src.YStride
		ci := ((rect.Min.Y+j)>>vs - cy0) * src.CStride
		yrow := src.Y[yi : yi+w]
		cbrow := src.Cb[ci : ci+cw]
		crrow := src.Cr[ci : ci+cw]
		out := dst.Pix[j*w*3 : (j+1)*w*3]
		switch hs {
		case 0:
			convertRow444(out, yrow, cbrow, crrow)
			continue
		case 1:
			convertRowH2(out, yrow, cbrow, crrow, phase)
			continue
		}
		for i, yv := range yrow {
			c := (i + phase) >> hs
			yy := int32(yv)*fixOne + fixRnd
			cb := int32(cbrow[c]) - 128
			cr := int32(crrow[c]) - 128
			d := out[i*3 : i*3+3 : i*3+3]
			d[0] = clampFix(yy + fixCrR*cr)
			d[1] = clampFix(yy - fixCbG*cb - fixCrG*cr)
			d[2] = clampFix(yy + fixCbB*cb)
		}
	}
	return dst
}

// convertRow444 converts one row where every luma sample has its own chroma
// sample. len(cb) and len(cr) must equal len(y).
func convertRow444(out, y, cb, cr []uint8) {
	cb = cb[:len(y)]
	cr = cr[:len(y)]
	for i, yv := range y {
		yy := int32(yv)*fixOne + fixRnd
		cb1 := int32(cb[i]) - 128
		cr1 := int32(cr[i]) - 128
		d := out[i*3 : i*3+3 : i*3+3]
		d[0] = clampFix(yy + fixCrR*cr1)
		d[1] = clampFix(yy - fixCbG*cb1 - fixCrG*cr1)
		d[2] = clampFix(yy + fixCbB*cb1)
	}
}

// convertRowH2 converts one row with horizontally halved chroma (4:2:2,
// 4:2:0): each chroma sample's contribution is computed once and applied to
// the luma pair sharing it. phase is 1 when the row starts on the second
// pixel of a pair.
func convertRowH2(out, y, cb, cr []uint8, phase int) {
	i := 0
	if phase == 1 && len(y) > 0 {
		setYCbCr(out[0:3:3], y[0], cb[0], cr[0])
		i = 1
	}
	for ; i+1 < len(y); i += 2 {
		c := (i + phase) >> 1
		cb1 := int32(cb[c]) - 128
		cr1 := int32(cr[c]) - 128
		rc := fixCrR*cr1 + fixRnd
		gc := fixRnd - fixCbG*cb1 - fixCrG*cr1
		bc := fixCbB*cb1 + fixRnd
		y0 := int32(y[i]) * fixOne
		y1 := int32(y[i+1]) * fixOne
		d := out[i*3 : i*3+6 : i*3+6]
		d[0] = clampFix(y0 + rc)
		d[1] = clampFix(y0 + gc)
		d[2] = clampFix(y0 + bc)
		d[3] = clampFix(y1 + rc)
		d[4] = clampFix(y1 + gc)
		d[5] = clampFix(y1 + bc)
	}
	if i < len(y) {
		c := (i + phase) >> 1
		setYCbCr(out[i*3:i*3+3:i*3+3], y[i], cb[c], cr[c])
	}
}

// setYCbCr stores the RGB conversion of one sample into d[0:3].
func setYCbCr(d []uint8, y, cb, cr uint8) {
	d[0], d[1], d[2] = ycbcrToRGB(y, cb, cr)
}

// fromYCbCrOffsets is the exact-addressing fallback for YCbCr images whose
// origin has negative coordinates.
func fromYCbCrOffsets(src *image.YCbCr, dst *Image) {
	i := 0
	for y := src.Rect.Min.Y; y < src.Rect.Max.Y; y++ {
		for x := src.Rect.Min.X; x < src.Rect.Max.X; x++ {
			ci := src.COffset(x, y)
			r, g, b := ycbcrToRGB(src.Y[src.YOffset(x, y)], src.Cb[ci], src.Cr[ci])
			d := dst.Pix[i : i+3 : i+3]
			d[0], d[1], d[2] = r, g, b
			i += 3
		}
	}
}
