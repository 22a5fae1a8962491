package intake

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Limits on keys typed for team links, and on declines, on one replica.
const (
	// maxWrongKeys is how many key checks and declines a link gets in a
	// window, not counting the checks that matched.
	maxWrongKeys = 5
	// keyWindow is the window: it starts at a link's first check.
	keyWindow = time.Minute
	// maxCountedLinks bounds the links counted at once. Only a link sealed
	// by the link keys is counted (anything else is refused first), but
	// anyone who can call the tool can have links made, so the table is
	// bounded in total. When it is full, a link not in it is refused until
	// its oldest entry expires: refusing a try the table cannot count fails
	// closed, where dropping a count would hand a link fresh tries.
	maxCountedLinks = 4096
	// maxLinksPerMaker bounds the entries of the links one caller made:
	// any caller can have links made, and one who types a wrong key on
	// each of thousands would otherwise fill the table and lock every
	// other caller's links out. Beyond it, that caller's new links wait
	// for their own oldest entry to expire.
	maxLinksPerMaker = 64
)

// keyTries counts key checks and declines per link, in fixed windows, in a table of at
// most capacity links; an entry leaves it when its window ends.
type keyTries struct {
	limit, capacity, perMaker int
	window                    time.Duration

	mu    sync.Mutex
	links map[[sha256.Size]byte]*linkTries
	// makers counts the entries of each link maker, by the fingerprint
	// sealed in their links.
	makers map[[sha256.Size]byte]int
	// order holds the entries oldest first, as windows start in the order
	// entries are made: expired ones are dropped from its front.
	order []*linkTries
}

type linkTries struct {
	digest, maker [sha256.Size]byte
	since         time.Time
	n             int
}

func newKeyTries() *keyTries {
	return &keyTries{limit: maxWrongKeys, capacity: maxCountedLinks, perMaker: maxLinksPerMaker, window: keyWindow,
		links: map[[sha256.Size]byte]*linkTries{}, makers: map[[sha256.Size]byte]int{}}
}

// take counts a check of a key for the link with the given digest, made
// by the caller whose fingerprint is maker, before it is made, and returns
// 0; or, when the link has had its tries in this window, or the table or
// the maker's share of it is full without it, how long until a try is
// taken again. A check that matches is given back.
func (k *keyTries) take(digest, maker [sha256.Size]byte, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.expire(now)
	e := k.links[digest]
	if e == nil {
		switch {
		case k.makers[maker] >= k.perMaker:
			return k.makerWait(maker, now)
		case len(k.links) >= k.capacity:
			return k.order[0].since.Add(k.window).Sub(now)
		}
		e = &linkTries{digest: digest, maker: maker, since: now}
		k.links[digest] = e
		k.makers[maker]++
		k.order = append(k.order, e)
	}
	if e.n >= k.limit {
		return e.since.Add(k.window).Sub(now)
	}
	e.n++
	return 0
}

// giveBack returns a try whose key matched.
func (k *keyTries) giveBack(digest [sha256.Size]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.links[digest]; e != nil && e.n > 0 {
		e.n--
	}
}

// makerWait is how long until the oldest entry of maker expires.
func (k *keyTries) makerWait(maker [sha256.Size]byte, now time.Time) time.Duration {
	for _, e := range k.order {
		if e.maker == maker {
			return e.since.Add(k.window).Sub(now)
		}
	}
	return k.window
}

// expire drops the entries whose window has ended.
func (k *keyTries) expire(now time.Time) {
	for len(k.order) > 0 && !now.Before(k.order[0].since.Add(k.window)) {
		e := k.order[0]
		delete(k.links, e.digest)
		if k.makers[e.maker]--; k.makers[e.maker] == 0 {
			delete(k.makers, e.maker)
		}
		k.order[0] = nil
		k.order = k.order[1:]
	}
}
