// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lifecycle interception (docs/QVMID.md "Lifecycle interception"): while
 * the introspection session is hooked (breakpoints, watchpoints, or an
 * explicit HOOK), a management client's stop, system_reset, migrate, quit
 * and system_powerdown would pull the VM from under the tool.  They are
 * held here, the tool gets EV_UNHOOK, and they go to QEMU once the session
 * has unhooked: the tool's ack, its EOF, or unhook_timeout (after which
 * qvmid removes the hooks itself).  The session server owns that round and
 * its deadline; the proxy only asks and watches the ticket.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy-int.h"

static const struct {
	const char *cmd;
	uint32_t reason; /* enum qvmi_unhook_reason */
	bool shutdown; /* passes at once with no_unhook_on_shutdown */
} lifecycle[] = {
	{ "stop", QVMI_UNHOOK_STOP, false },
	{ "system_reset", QVMI_UNHOOK_SYSTEM_RESET, false },
	{ "migrate", QVMI_UNHOOK_MIGRATE, false },
	{ "quit", QVMI_UNHOOK_QUIT, true },
	{ "system_powerdown", QVMI_UNHOOK_SYSTEM_POWERDOWN, true },
};

static bool svc_hooked(const struct proxy_svc *v)
{
	return v->ops->hooked && v->ops->hooked(v->svc);
}

/* The session or a service (KVMi) holds hooks. */
static bool any_hooked(const struct qvmid_proxy *p)
{
	for (unsigned int i = 0; i < p->nsvc; i++)
		if (svc_hooked(&p->svc[i]))
			return true;
	return p->session && qvmid_session_server_hooked(p->session);
}

/* Ask every hooked party to unhook. */
static void ask_unhook(struct qvmid_proxy *p, struct held *h, uint32_t reason)
{
	h->ses_wait = p->session && qvmid_session_server_hooked(p->session);
	h->ticket = h->ses_wait ?
			    qvmid_session_server_unhook(p->session, reason) :
			    0;
	for (unsigned int i = 0; i < p->nsvc; i++)
		h->svc_ticket[i] =
			svc_hooked(&p->svc[i]) ?
				p->svc[i].ops->unhook(p->svc[i].svc, reason) :
				0;
}

bool qvmid_proxy_hold(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		      const struct pj_msg *m)
{
	const char *id = m->id;
	struct held *h;
	size_t i;

	for (i = 0; i < QVMI_ARRAY_SIZE(lifecycle); i++)
		if (!strcmp(cmd, lifecycle[i].cmd))
			break;
	if (i == QVMI_ARRAY_SIZE(lifecycle) ||
	    (lifecycle[i].shutdown && p->o.no_unhook_on_shutdown) ||
	    !any_hooked(p))
		return false;
	if (p->nheld == PROXY_HELD_MAX) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "qvmid: too many lifecycle commands wait for "
			       "the introspection session to unhook");
		return true;
	}
	h = &p->held[p->nheld];
	h->raw = malloc(m->tmpl_len);
	h->id = id ? strdup(id) : NULL;
	if (!h->raw || (id && !h->id)) {
		free(h->raw);
		free(h->id);
		qvmid_pc_error(p, c, id, "GenericError",
			       "qvmid: out of memory");
		return true;
	}
	memcpy(h->raw, m->tmpl, m->tmpl_len);
	h->len = m->tmpl_len;
	h->slot = m->slot;
	h->c = c;
	ask_unhook(p, h, lifecycle[i].reason);
	p->nheld++;
	c->nheld++;
	p->st.held++;
	qvmid_proxy_log(p, QVMI_LOG_INFO,
			"qmp-proxy: %s held until the introspection session "
			"unhooks",
			cmd);
	return true;
}

static bool ticket_done(const struct qvmid_proxy *p, const struct held *h)
{
	for (unsigned int i = 0; i < p->nsvc; i++)
		if (h->svc_ticket[i] &&
		    !p->svc[i].ops->unhook_done(p->svc[i].svc,
						h->svc_ticket[i]))
			return false;
	/* The session server went away: nothing holds the command. */
	return !h->ses_wait || !p->session ||
	       qvmid_session_server_unhook_done(p->session, h->ticket);
}

bool qvmid_proxy_held_blocks(const struct qvmid_proxy *p,
			     const struct pclient *c)
{
	if (!c->nheld)
		return false;
	if (p->o.no_async_unhook)
		return true; /* the client's later commands wait */
	/* Async: only a released command, so that it goes first. */
	for (unsigned int i = 0; i < p->nheld; i++)
		if (p->held[i].c == c && ticket_done(p, &p->held[i]))
			return true;
	return false;
}

static void held_remove(struct qvmid_proxy *p, unsigned int i)
{
	free(p->held[i].raw);
	free(p->held[i].id);
	memmove(p->held + i, p->held + i + 1,
		(p->nheld - i - 1) * sizeof(p->held[0]));
	p->nheld--;
}

void qvmid_proxy_release(struct qvmid_proxy *p)
{
	for (unsigned int i = 0; i < p->nheld;) {
		struct held *h = &p->held[i];
		struct pclient *c = h->c;

		/* One request per client at QEMU: a released command whose
		 * client waits for another reply goes after it. */
		if (!ticket_done(p, h) || (c && (c->wait_id || c->dead))) {
			i++;
			continue;
		}
		qvmid_proxy_forward(p, c, NULL, h->raw, h->len, h->slot, h->id);
		if (c) {
			c->nheld--;
			c->runnable = true; /* its input may now go on */
		}
		p->st.released++;
		held_remove(p, i);
	}
}

void qvmid_proxy_held_orphan(struct qvmid_proxy *p, struct pclient *c)
{
	/* With QEMU itself, a command sent before the client hung up
	 * still runs ("quit" from a one-shot script): so here too. */
	for (unsigned int i = 0; i < p->nheld; i++)
		if (p->held[i].c == c)
			p->held[i].c = NULL;
	c->nheld = 0;
}

void qvmid_proxy_held_free(struct qvmid_proxy *p)
{
	if (p->nheld)
		qvmid_proxy_log(p, QVMI_LOG_WARN,
				"qmp-proxy: exiting with %u lifecycle "
				"commands held: dropped",
				p->nheld);
	while (p->nheld)
		held_remove(p, p->nheld - 1);
}

/* ---- qvmid exits ---------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One hooked service's UNHOOK round, driven by its own prepare/dispatch
 * (the proxy's loop has ended).  The service ends the round itself: the
 * tool closes, or its unhook timeout (an int of ms) passes; the cap only
 * guards against a service that never does. */
static void svc_unhook_round(struct qvmid_proxy *p, struct proxy_svc *v)
{
	unsigned int n = v->ops->nfds(v->svc);
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	int64_t end = mono_ms() + (int64_t)INT_MAX + 1000;
	uint64_t t;

	if (!pfd)
		return;
	t = v->ops->unhook(v->svc, QVMI_UNHOOK_QVMID_EXIT);
	while (!v->ops->unhook_done(v->svc, t) && mono_ms() < end) {
		int64_t next = INT64_MAX, now;
		nfds_t used = v->ops->prepare(v->svc, pfd, &next);
		int wait = 100;

		now = mono_ms();
		if (next != INT64_MAX)
			wait = (int)QVMI_MAX(QVMI_MIN(next - now, 100), 0);
		if (poll(pfd, used, wait) >= 0 || errno == EINTR)
			v->ops->dispatch(v->svc, pfd);
	}
	if (!v->ops->unhook_done(v->svc, t))
		qvmid_proxy_log(p, QVMI_LOG_WARN,
				"%s: the unhook round did not end: exiting",
				v->ops->name);
	free(pfd);
}

void qvmid_proxy_svc_shutdown(struct qvmid_proxy *p)
{
	for (unsigned int i = 0; i < p->nsvc; i++) {
		struct proxy_svc *v = &p->svc[i];

		if (v->ops->hooked && v->ops->hooked(v->svc))
			svc_unhook_round(p, v);
	}
}
