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
#include <stdlib.h>
#include <string.h>

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

bool qvmid_proxy_hold(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		      const struct pj_msg *m)
{
	const char *id = m->id;
	struct held *h;
	size_t i;

	for (i = 0; i < QVMI_ARRAY_SIZE(lifecycle); i++)
		if (!strcmp(cmd, lifecycle[i].cmd))
			break;
	if (i == QVMI_ARRAY_SIZE(lifecycle) || !p->session ||
	    (lifecycle[i].shutdown && p->o.no_unhook_on_shutdown) ||
	    !qvmid_session_server_hooked(p->session))
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
	h->ticket =
		qvmid_session_server_unhook(p->session, lifecycle[i].reason);
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
	/* The session server went away: nothing holds the command. */
	return !p->session ||
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
