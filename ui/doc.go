// Package ui is the desktop app's Fyne front end: the main window with its toolbar,
// paint surface, exemplar strip, layer picker, concept heatmap, prediction bars and
// history, plus the welcome view, dialogs, menus and shortcuts. State and commands live
// in package app; this package only shows them and turns input into commands.
package ui
