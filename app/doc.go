// Package app holds the desktop app's state and commands without any GUI: a Session of
// exemplar documents over a model, an undo History of Commands (paint strokes, texture
// pastes, exemplar changes and layer rewrites), a Previewer that re-runs the model off
// the UI thread whenever the exemplar or the weights change, background jobs with
// progress and cancellation, session files, recipes, autosave and the remembered model.
//
// Everything here is driven from one goroutine (the UI's); long work takes a
// context.Context, runs on its own goroutine and reports through callbacks that the UI
// hands back to its own thread.
package app
