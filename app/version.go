package app

import "sync/atomic"

var versions atomic.Uint64

// nextVersion returns a number never returned before, so versions of different objects
// never collide in caches.
func nextVersion() uint64 { return versions.Add(1) }
