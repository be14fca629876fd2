// Package js embeds stickerd's browser realtime SDK, stickerd-rtc.js, so
// that Go servers (the /live demo page) can serve the very file that is
// published as the npm package @stickerd/rtc. The SDK itself is plain
// JavaScript; this package holds no logic.
package js
