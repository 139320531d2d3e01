// Package ffmpeg ingests video for face analysis by running an ffmpeg subprocess that decodes a file, an RTSP
// or HTTP stream or a V4L2 camera into raw RGB frames on its standard output.
//
// # Frames: PPM over a pipe
//
// ffmpeg is asked for "-f image2pipe -c:v ppm -pix_fmt rgb24": every frame is a binary PPM image, a short text
// header ("P6\n640 360\n255\n") followed by exactly width*height*3 bytes of packed RGB. Compared with
// "-f rawvideo", which writes bare pixels, the header costs a few bytes per frame but makes the stream
// self-describing: the size need not be probed (with ffprobe, or by parsing ffmpeg's log) before reading, a
// source that changes resolution mid-stream (a camera reconfigured, an adaptive HTTP stream) is followed
// frame by frame, and a desynchronised stream is detected at the next header instead of silently producing
// sheared images. ReadFrame parses the header liberally (any whitespace, '#' comments) and reads the pixels with
// io.ReadFull straight into the frame's buffer, so a frame is handed out whole or not at all. Sizes are bounded
// (DefaultMaxPixels) before anything is allocated.
//
// The fps filter picks the frames to emit (Options.FPS) and an optional scale filter bounds their width
// (Options.MaxWidth, aspect kept, even height). HTTP sources are fetched by Go and piped to ffmpeg's standard
// input: multipart/x-mixed-replace (MJPEG) is read with ffmpeg's mpjpeg demuxer and wall-clock timestamps, since
// MJPEG parts carry none and ffmpeg would otherwise assume 25 fps, which makes the fps filter emit the wrong
// rate. RTSP is read over TCP with a socket timeout.
//
// # What a source may reach
//
// Only file paths (and file:// URLs), rtsp, rtsps, http and https URLs and device:/dev/... are accepted.
// ffmpeg gets a -protocol_whitelist per kind of source (file: "file"; RTSP: "rtsp,rtsps,tcp,tls"; HTTP:
// "pipe"), so neither a crafted name ("concat:", "subfile:") nor a playlist or a redirect can make it open
// something else. HTTP connections are Go's (package netguard): redirects only to the same scheme and host,
// TLS certificates verified, Basic authentication from the URL's user information (Digest is not
// supported), and, with Options.Access set, no internal address unless Access.PrivateNetworks; an HTTP source
// whose content needs further fetches (an HLS playlist) is not supported. Options.Access also restricts file
// sources to its folders, with one answer for every refusal. ffmpeg runs with a minimal environment (PATH,
// HOME, TMPDIR, LANG, LC_ALL, TZ, LD_LIBRARY_PATH): none of the server's secrets.
//
// # Delivery and drop policy
//
// Run reads frames and puts each into a one-frame mailbox that Next empties. Without Options.DropFrames the
// reader waits for the mailbox to be emptied: no frame is lost, ffmpeg is throttled through the pipe, which
// is right for files read as fast as analysis allows. With DropFrames a new frame replaces an unread one, which
// is counted in FramesDropped: the consumer always gets the newest frame and latency stays bounded, which is
// right for live sources (and files read in real time) when analysis is slower than the source. In both modes
// FramesIn = frames delivered + FramesDropped + the frame waiting in the mailbox (if any).
//
// # Failures, reconnects and backoff
//
// Each ffmpeg run ("attempt") is started in its own process group; when the attempt is abandoned the group is
// killed (SIGKILL) and the output pipe closed, so that a stray process holding the pipe cannot hang the reader,
// and the process is always waited for: nothing is left behind when Run returns. An attempt ends when ffmpeg
// exits, when a frame cannot be read (malformed, oversized or truncated), or when no frame arrived for
// Options.StallTimeout (time spent waiting for a slow consumer does not count).
//
// A non-looping file that ends cleanly ends the Source (StreamEnded). Anything else — a live source that fails
// or ends, a looping file that fails, a file that fails before its first frame — is retried. The delay before
// a retry is MinBackoff the first time and after an attempt that produced a frame, and otherwise twice the
// previous delay, capped at MaxBackoff. A non-looping file that fails after delivering frames is not replayed from its start
// (its frames would be analysed twice): it ends, with LastError set. LastError is the last meaningful line
// ffmpeg printed on stderr (passwords in URLs masked, log context addresses dropped), or else the reason the
// attempt ended (exit status, stall, bad frame).
//
// States (facegate.StreamState) follow each attempt: StreamStarting before Run and when ffmpeg is started,
// StreamRunning at its first frame, StreamReconnecting while waiting to start again (Reconnects is incremented
// on entering it), and finally StreamEnded (file ended) or StreamStopped (Run's context ended).
package ffmpeg
