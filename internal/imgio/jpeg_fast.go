package imgio

// fastJPEG, when set (builds with the libjpeg tag and cgo), decodes a JPEG whose header said w x h into RGB.
// It returns ok false to make Decode use image/jpeg instead.
var fastJPEG func(data []byte, w, h int) (img *Image, ok bool)

// NativeJPEG reports whether this build decodes JPEG with the system's libjpeg.
func NativeJPEG() bool { return fastJPEG != nil }
