package intake

// ExpiredWhileStoring reports whether t's link expired while a value
// submitted on its page was being stored, so that a test's slow store can
// wait for that instead of sleeping past the TTL.
func ExpiredWhileStoring(t *Ticket) bool {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	return t.endedWhileStoring == expired
}
