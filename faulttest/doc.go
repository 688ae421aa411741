// Package faulttest proves the delivery guarantees of DESIGN.md
// ("Delivery guarantees") end to end, on the real `it4ct` binary: connectors
// and aggregators killed with SIGKILL at random points and restarted, a
// broker outage in the middle of a backfill, replays of the whole history,
// and kcat reading the topics. Each test compares the final national state
// with a clean reference run. The package holds tests only; see README.md
// for the sizes and how to run the full-size proof.
package faulttest
