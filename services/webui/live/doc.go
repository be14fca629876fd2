// Package live is the page that `stickerd dev` serves at /live: it sends
// the browser's camera to the realtime edge through the browser SDK
// (sdk/js), shows the video coming back with stickers composited, and lets
// a person add built-in and text stickers and drag them over the video
// live. Like the studio at "/", it is HTML, CSS and JavaScript modules
// embedded in the binary, served from one origin.
package live
