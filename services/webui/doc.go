// Package webui is the page that `stickerd dev` serves at "/": a small
// studio over the REST API. A person picks a video (or a blank canvas),
// places, turns, fades and keyframes stickers on a stage that shows at the
// playhead what the render will show, and renders it; saves the project
// as a template and renders templates one at a time or as CSV batches;
// and finds past renders again. It is HTML, CSS and plain JavaScript
// modules embedded in the binary, plus the engine's own font files
// (render/text) at /ui/fonts/, so that the preview's text has the
// render's glyphs and metrics: no bundler, nothing fetched from elsewhere.
// The logic that turns the page into a spec is static/spec.js, and the
// keyframe and preset curves are static/motion.js, both pure modules.
package webui
