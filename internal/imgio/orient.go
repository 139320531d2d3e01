package imgio

// Orient returns m transformed so that an image stored with the given EXIF
// orientation is displayed upright:
//
//	1 identity            5 transpose (mirror + rotate 270° CW)
//	2 mirror horizontally 6 rotate 90° CW
//	3 rotate 180°         7 transverse (mirror + rotate 90° CW)
//	4 mirror vertically   8 rotate 270° CW
//
// Orientations 5..8 swap width and height. For 1 or any value outside 1..8
// m itself is returned; otherwise the result is a new Image and m is left
// unchanged.
func Orient(m *Image, orientation int) *Image {
	if orientation < 2 || orientation > 8 {
		return m
	}
	w, h := m.W, m.H
	dw, dh := w, h
	if orientation >= 5 {
		dw, dh = h, w
	}
	dst := NewImage(dw, dh)
	if w == 0 || h == 0 {
		return dst
	}
	// Every orientation maps source pixel (x, y) to destination pixel index
	// base + x*ax + y*ay (in pixels); derived from the EXIF definitions of
	// which visual edge the stored 0th row and 0th column represent.
	var base, ax, ay int
	switch orientation {
	case 2: // dst(w-1-x, y)
		base, ax, ay = w-1, -1, w
	case 3: // dst(w-1-x, h-1-y)
		base, ax, ay = (h-1)*w+w-1, -1, -w
	case 4: // dst(x, h-1-y)
		base, ax, ay = (h-1)*w, 1, -w
	case 5: // dst(y, x)
		base, ax, ay = 0, h, 1
	case 6: // dst(h-1-y, x)
		base, ax, ay = h-1, h, -1
	case 7: // dst(h-1-y, w-1-x)
		base, ax, ay = (w-1)*h+h-1, -h, -1
	case 8: // dst(y, w-1-x)
		base, ax, ay = (w-1)*h, -h, 1
	}
	src := m.Pix
	out := dst.Pix
	for y := 0; y < h; y++ {
		row := src[y*w*3 : (y+1)*w*3]
		d := base + y*ay
		for x := 0; x < w; x++ {
			s := row[x*3 : x*3+3 : x*3+3]
			o := out[d*3 : d*3+3 : d*3+3]
			o[0], o[1], o[2] = s[0], s[1], s[2]
			d += ax
		}
	}
	return dst
}
