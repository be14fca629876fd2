// Package webui is the page that `stickerd dev` serves at "/": a small
// studio where a person picks a video (or a blank canvas), places stickers
// on it by dragging, and renders it through the REST API. It is HTML, CSS and
// plain JavaScript modules embedded in the binary: no bundler, nothing
// fetched from elsewhere. The logic that turns the page into a spec is
// static/spec.js, a pure module.
package webui
