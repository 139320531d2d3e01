//go:build cgo && libjpeg

package imgio

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

struct fg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int warned;
};

static void fg_error_exit(j_common_ptr c) {
	struct fg_err *e = (struct fg_err *)c->err;
	longjmp(e->jb, 1);
}

static void fg_emit(j_common_ptr c, int level) {
	if (level < 0) ((struct fg_err *)c->err)->warned = 1;
}

static void fg_output(j_common_ptr c) {}

// fg_decode decodes a JPEG of exactly w x h pixels into out (w*h*3 bytes, RGB). It returns 0 on success and
// 1 on any error or warning (corrupt or truncated data, a colour space libjpeg cannot turn into RGB, a size
// other than expected): the caller then uses Go's decoder, which classifies the problem.
static int fg_decode(const unsigned char *data, unsigned long n, unsigned char *out, int w, int h) {
	struct jpeg_decompress_struct d;
	struct fg_err e;
	memset(&d, 0, sizeof d);
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = fg_error_exit;
	e.pub.emit_message = fg_emit;
	e.pub.output_message = fg_output;
	e.warned = 0;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&d);
		return 1;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, (unsigned char *)data, n);
	jpeg_read_header(&d, TRUE);
	if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
		jpeg_destroy_decompress(&d);
		return 1;
	}
	d.out_color_space = JCS_RGB;
	jpeg_start_decompress(&d);
	if ((int)d.output_width != w || (int)d.output_height != h || d.output_components != 3) {
		jpeg_destroy_decompress(&d);
		return 1;
	}
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = out + (size_t)d.output_scanline * (size_t)w * 3;
		jpeg_read_scanlines(&d, &row, 1);
		if (e.warned) break;
	}
	if (!e.warned) jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	return e.warned ? 1 : 0;
}
*/
import "C"

import "unsafe"

func init() { fastJPEG = libjpegDecode }

// libjpegDecode decodes a baseline or progressive JPEG with the system's libjpeg(-turbo), which is several times
// faster than image/jpeg. ok is false whenever libjpeg reports anything unusual; Decode then falls back to Go's
// decoder so that errors are classified the same way on every build, and so that files only image/jpeg reads
// (junk libjpeg warns about) still decode. Decoding twice is cheap because the scan bound (checkScans) runs first:
// the costliest accepted scans take about 1 s with both decoders.
func libjpegDecode(data []byte, w, h int) (*Image, bool) {
	if len(data) == 0 || w <= 0 || h <= 0 {
		return nil, false
	}
	m := NewImage(w, h)
	rc := C.fg_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(w), C.int(h))
	if rc != 0 {
		return nil, false
	}
	return m, true
}
