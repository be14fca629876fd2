package js

import "embed"

// FileName is the SDK module's file name inside FS.
const FileName = "stickerd-rtc.js"

// FS holds stickerd-rtc.js.
//
//go:embed stickerd-rtc.js
var FS embed.FS
