package intake

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func digestOf(i int) [sha256.Size]byte { return sha256.Sum256(fmt.Appendf(nil, "link %d", i)) }

// makerOf is the fingerprint of the caller who made link i's.
func makerOf(i int) [sha256.Size]byte { return sha256.Sum256(fmt.Appendf(nil, "maker %d", i)) }

// someone made the links of the tests that count one caller's.
var someone = makerOf(0)

func TestKeyTriesCountEachLinkApartAndForgetItAfterItsWindow(t *testing.T) {
	t.Parallel()
	k := newKeyTries()
	start := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	for i := range maxWrongKeys {
		if wait := k.take(digestOf(1), someone, start.Add(time.Duration(i)*time.Second)); wait != 0 {
			t.Fatalf("try %d waits %s", i+1, wait)
		}
	}
	if wait := k.take(digestOf(1), someone, start.Add(10*time.Second)); wait != 50*time.Second {
		t.Errorf("the try past the limit waits %s, want the 50s left of the window", wait)
	}
	if wait := k.take(digestOf(2), someone, start.Add(10*time.Second)); wait != 0 {
		t.Errorf("another link waits %s", wait)
	}
	if wait := k.take(digestOf(1), someone, start.Add(time.Minute)); wait != 0 || k.links[digestOf(1)].n != 1 {
		t.Errorf("after its window a link waits %s, and is counted anew from 1: %+v", wait, k.links[digestOf(1)])
	}
	if wait := k.take(digestOf(3), someone, start.Add(70*time.Second)); wait != 0 || len(k.links) != 2 || len(k.order) != 2 {
		t.Errorf("the second link's entry outlived its window: %d links, %d in order", len(k.links), len(k.order))
	}
}

func TestAMatchingKeyGivesItsTryBack(t *testing.T) {
	t.Parallel()
	k := newKeyTries()
	now := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	for i := range 3 * maxWrongKeys {
		if wait := k.take(digestOf(1), someone, now); wait != 0 {
			t.Fatalf("try %d, each given back, waits %s", i+1, wait)
		}
		k.giveBack(digestOf(1))
	}
}

func TestAFullTableRefusesALinkItCannotCountAndNeverGrows(t *testing.T) {
	t.Parallel()
	k := newKeyTries()
	k.capacity = 3
	start := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if wait := k.take(digestOf(i), makerOf(i), start.Add(time.Duration(i)*time.Second)); wait != 0 {
			t.Fatalf("link %d waits %s", i, wait)
		}
	}
	now := start.Add(20 * time.Second)
	for i := 3; i < 1000; i++ {
		if wait := k.take(digestOf(i), makerOf(i), now); wait != 40*time.Second {
			t.Fatalf("new link %d with the table full waits %s, want the 40s until the oldest entry goes", i, wait)
		}
	}
	if len(k.links) != 3 || len(k.order) != 3 {
		t.Fatalf("the table grew to %d links, %d in order", len(k.links), len(k.order))
	}
	if wait := k.take(digestOf(2), makerOf(2), now); wait != 0 {
		t.Errorf("a counted link is refused while the table is full: %s", wait)
	}
	if wait := k.take(digestOf(500), makerOf(500), start.Add(time.Minute)); wait != 0 || len(k.links) != 3 {
		t.Errorf("once the oldest entry went: waits %s with %d links", wait, len(k.links))
	}
}

func TestOneCallersLinksFillOnlyTheirShareOfTheTable(t *testing.T) {
	t.Parallel()
	k := newKeyTries()
	start := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	for i := range maxCountedLinks {
		wait := k.take(digestOf(i), someone, start.Add(time.Duration(i)*time.Millisecond))
		if i < maxLinksPerMaker && wait != 0 || i >= maxLinksPerMaker && wait != time.Minute-time.Duration(i)*time.Millisecond {
			t.Fatalf("the caller's link %d waits %s; want their first %d counted, then a wait for their oldest entry to go", i, wait, maxLinksPerMaker)
		}
	}
	if len(k.links) != maxLinksPerMaker {
		t.Errorf("one caller holds %d entries, want %d", len(k.links), maxLinksPerMaker)
	}
	if wait := k.take(digestOf(-1), makerOf(1), start.Add(5*time.Second)); wait != 0 {
		t.Errorf("another caller's link waits %s", wait)
	}
	if wait := k.take(digestOf(maxCountedLinks), someone, start.Add(time.Minute)); wait != 0 || k.makers[someone] != maxLinksPerMaker {
		t.Errorf("once the caller's oldest entry went: waits %s with %d entries of theirs", wait, k.makers[someone])
	}
	if k.take(digestOf(-1), makerOf(1), start.Add(2*time.Minute)); len(k.makers) != 1 {
		t.Errorf("makers whose entries all went are still counted: %d", len(k.makers))
	}
}

// BenchmarkAFullTableOfCountedLinks measures the memory one replica's
// table takes at its bound: B/op is the whole table's.
func BenchmarkAFullTableOfCountedLinks(b *testing.B) {
	digests, makers := make([][sha256.Size]byte, maxCountedLinks), make([][sha256.Size]byte, maxCountedLinks)
	for i := range digests {
		digests[i], makers[i] = digestOf(i), makerOf(i)
	}
	now := time.Date(2026, 7, 28, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		k := newKeyTries()
		for i, d := range digests {
			k.take(d, makers[i], now)
		}
		if len(k.links) != maxCountedLinks {
			b.Fatal(len(k.links))
		}
	}
}
