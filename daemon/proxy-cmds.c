// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the QMP proxy answers itself: capabilities negotiation (per client,
 * with QEMU 7.2's error texts, checked against a live QEMU 7.2), and the
 * two commands qvmid adds, "pmemaccess" and "query-qvmi".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy-int.h"
#include "attach/qvmid.h"
#include "proto/jsonobj.h"

/* QEMU 7.2 qapi/qmp-dispatch.c qmp_dispatch_check_obj(). */
bool qvmid_proxy_check_obj(struct qvmid_proxy *p, struct pclient *c,
			   struct json_object *req, const char *id)
{
	bool has_exec = false;

	json_object_object_foreach(req, key, val)
	{
		if (!strcmp(key, "execute") ||
		    (!strcmp(key, "exec-oob") && c->oob)) {
			if (!json_object_is_type(val, json_type_string)) {
				qvmid_pc_error(p, c, id, "GenericError",
					       "QMP input member '%s' must be "
					       "a string",
					       key);
				return false;
			}
			has_exec = true;
		} else if (!strcmp(key, "arguments")) {
			if (!json_object_is_type(val, json_type_object)) {
				qvmid_pc_error(p, c, id, "GenericError",
					       "QMP input member 'arguments' "
					       "must be an object");
				return false;
			}
		} else if (strcmp(key, "id")) {
			qvmid_pc_error(p, c, id, "GenericError",
				       "QMP input member '%s' is unexpected",
				       key);
			return false;
		}
	}
	if (!has_exec) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "QMP input lacks member 'execute'");
		return false;
	}
	return true;
}

/* Are args' keys all in allowed (NULL-terminated)?  Else answer. */
static bool only_args(struct qvmid_proxy *p, struct pclient *c,
		      struct json_object *args, const char *const *allowed,
		      const char *id)
{
	if (!args)
		return true;
	json_object_object_foreach(args, key, val)
	{
		const char *const *a = allowed;

		(void)val;
		while (*a && strcmp(*a, key))
			a++;
		if (!*a) {
			qvmid_pc_error(p, c, id, "GenericError",
				       "Parameter '%s' is unexpected", key);
			return false;
		}
	}
	return true;
}

static struct json_object *arguments(struct json_object *req)
{
	struct json_object *a;

	return json_object_object_get_ex(req, "arguments", &a) ? a : NULL;
}

void qvmid_proxy_capabilities(struct qvmid_proxy *p, struct pclient *c,
			      struct json_object *req, const char *id)
{
	static const char *const allowed[] = { "enable", NULL };
	struct json_object *ex, *args = arguments(req), *en;
	bool oob = false;

	if (!json_object_object_get_ex(req, "execute", &ex) ||
	    strcmp(json_object_get_string(ex), "qmp_capabilities")) {
		/* QEMU 7.2 monitor/qmp.c rewrites CommandNotFound so. */
		qvmid_pc_error(p, c, id, "CommandNotFound",
			       "Expecting capabilities negotiation with "
			       "'qmp_capabilities'");
		return;
	}
	if (!only_args(p, c, args, allowed, id))
		return;
	if (args && json_object_object_get_ex(args, "enable", &en)) {
		if (!json_object_is_type(en, json_type_array)) {
			qvmid_pc_error(p, c, id, "GenericError",
				       "Invalid parameter type for 'enable', "
				       "expected: array");
			return;
		}
		for (size_t i = 0; i < json_object_array_length(en); i++) {
			struct json_object *v =
				json_object_array_get_idx(en, i);
			const char *s = json_object_get_string(v);

			if (!json_object_is_type(v, json_type_string)) {
				qvmid_pc_error(p, c, id, "GenericError",
					       "Invalid parameter type for "
					       "'null', expected: string");
				return;
			}
			/* 'null' sic: QEMU 7.2's text, seen live. */
			if (strcmp(s, "oob")) {
				qvmid_pc_error(
					p, c, id, "GenericError",
					"Parameter 'null' does not accept "
					"value '%s'",
					s);
				return;
			}
			if (!p->greeting_oob) {
				qvmid_pc_error(
					p, c, id, "GenericError",
					"Capability 'oob' not available");
				return;
			}
			oob = true;
		}
	}
	c->negotiated = true;
	c->oob = oob;
	qvmid_pc_return(p, c, "{}", id);
}

/* ---- pmemaccess ---------------------------------------------------------- */

static const char *pmem_why(int err)
{
	switch (err) {
	case -EADDRINUSE:
		return "a live server already listens there";
	case -EEXIST:
		return "the path exists and is not a socket";
	case -ENAMETOOLONG:
		return "the path is empty or too long for a unix socket";
	case -ENOSPC:
		return "too many pmemaccess servers";
	case -EILSEQ:
		return "the path is not valid UTF-8";
	default:
		return strerror(-err);
	}
}

static void cmd_pmemaccess(struct qvmid_proxy *p, struct pclient *c,
			   struct json_object *req, const char *id)
{
	static const char *const allowed[] = { "path", NULL };
	struct json_object *args = arguments(req), *path;
	const char *s;
	int err;

	if (!only_args(p, c, args, allowed, id))
		return;
	if (!args || !json_object_object_get_ex(args, "path", &path)) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "Parameter 'path' is missing");
		return;
	}
	if (!json_object_is_type(path, json_type_string)) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "Invalid parameter type for 'path', expected: "
			       "string");
		return;
	}
	s = json_object_get_string(path);
	/* qvmid may run from "/" (--daemonize): a relative path would not
	 * mean what the client thinks. */
	if (s[0] != '/' ||
	    (size_t)json_object_get_string_len(path) != strlen(s)) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "pmemaccess: path must be absolute");
		return;
	}
	err = qvmid_proxy_start_pmem(p, s, true);
	if (err) {
		qvmid_pc_error(p, c, id, "GenericError",
			       "pmemaccess: cannot serve %.200s: %s", s,
			       pmem_why(err));
		return;
	}
	qvmid_proxy_log(p, QVMI_LOG_INFO,
			"qmp-proxy: pmemaccess started on %s by a client", s);
	qvmid_pc_return(p, c, "{}", id);
}

/* ---- query-qvmi ---------------------------------------------------------- */

static struct json_object *jint(uint64_t v)
{
	return json_object_new_uint64(v);
}

static struct json_object *q_sources(struct qvmid_proxy *p,
				     struct json_object **ret_map)
{
	struct json_object *names = json_object_new_array(),
			   *map = json_object_new_array();
	size_t n = qvmi_map_count(p->ctx);

	for (size_t i = 0; i < n; i++) {
		struct qvmi_map_entry e;
		struct json_object *m = json_object_new_object();
		bool seen = false;

		if (qvmi_map_get(p->ctx, i, &e)) {
			json_object_put(m);
			continue;
		}
		json_object_object_add(m, "gpa", jint(e.gpa));
		json_object_object_add(m, "size", jint(e.size));
		json_object_object_add(m, "source",
				       json_object_new_string(e.source));
		json_object_array_add(map, m);
		for (size_t j = 0; j < json_object_array_length(names); j++)
			seen |= !strcmp(
				json_object_get_string(
					json_object_array_get_idx(names, j)),
				e.source);
		if (!seen)
			json_object_array_add(names,
					      json_object_new_string(e.source));
	}
	*ret_map = map;
	return names;
}

static struct json_object *q_pmem(struct qvmid_proxy *p)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < p->npmem; i++) {
		struct json_object *o = json_object_new_object();
		struct qvmid_pmem_stats st;

		qvmid_pmem_server_stats(p->pmem[i], &st);
		json_object_object_add(
			o, "path",
			json_object_new_string(
				qvmid_pmem_server_path(p->pmem[i])));
		json_object_object_add(o, "clients", jint(st.clients));
		json_object_object_add(o, "accepted", jint(st.accepted));
		json_object_object_add(o, "reads", jint(st.reads));
		json_object_object_add(o, "writes", jint(st.writes));
		json_object_object_add(o, "failed", jint(st.failed));
		json_object_array_add(a, o);
	}
	return a;
}

static void cmd_query_qvmi(struct qvmid_proxy *p, struct pclient *c,
			   struct json_object *req, const char *id)
{
	static const char *const allowed[] = { NULL };
	struct json_object *r, *map = NULL, *names;
	char ver[32];

	if (!only_args(p, c, arguments(req), allowed, id))
		return;
	r = json_object_new_object();
	snprintf(ver, sizeof(ver), "%d.%d", QVMI_VERSION_MAJOR,
		 QVMI_VERSION_MINOR);
	json_object_object_add(r, "version", json_object_new_string(ver));
	json_object_object_add(
		r, "qemu",
		json_object_new_string(qvmi__ctx_qemu_version(p->ctx) ?:
					       "unknown"));
	json_object_object_add(r, "qemu-pid",
			       jint((uint64_t)qvmi__ctx_qemu_pid(p->ctx)));
	names = q_sources(p, &map);
	json_object_object_add(r, "sources", names);
	json_object_object_add(r, "map", map);
	json_object_object_add(r, "pmemaccess", q_pmem(p));
	json_object_object_add(r, "qmp-clients", jint(p->ncl));
	json_object_object_add(r, "forwarded", jint(p->st.forwarded));
	json_object_object_add(r, "events", jint(p->st.events));
	qvmid_pc_return(p, c,
			json_object_to_json_string_ext(
				r, JSON_C_TO_STRING_SPACED |
					   JSON_C_TO_STRING_NOSLASHESCAPE),
			id);
	json_object_put(r);
}

bool qvmid_proxy_local(struct qvmid_proxy *p, struct pclient *c,
		       const char *cmd, struct json_object *req, const char *id)
{
	bool pmem = !strcmp(cmd, "pmemaccess");

	if (!pmem && strcmp(cmd, "query-qvmi"))
		return false;
	if (!qvmid_proxy_check_obj(p, c, req, id))
		return true;
	if (pmem)
		cmd_pmemaccess(p, c, req, id);
	else
		cmd_query_qvmi(p, c, req, id);
	return true;
}

/* ---- query-commands ------------------------------------------------------ */

int qvmid_proxy_add_commands(const char *raw, size_t len, char **ret,
			     size_t *ret_len)
{
	static const char ours[] =
		"{\"name\": \"pmemaccess\"}, {\"name\": \"query-qvmi\"}";
	struct qvmi_jsonobj_member m;
	size_t lb, rb, n;
	bool empty = true;
	char *out;

	*ret = NULL;
	/* An error reply has no "return": leave it alone. */
	if (qvmi__jsonobj_get(raw, len, "return", &m) != 1 ||
	    raw[m.vstart] != '[' || raw[m.end - 1] != ']')
		return -ENOENT;
	lb = m.vstart;
	rb = m.end - 1;
	for (size_t i = lb + 1; i < rb; i++)
		empty &= raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' ||
			 raw[i] == '\r';
	n = len + sizeof(ours) + 2;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	*ret_len = (size_t)snprintf(out, n + 1, "%.*s%s%s%.*s", (int)rb, raw,
				    empty ? "" : ", ", ours, (int)(len - rb),
				    raw + rb);
	*ret = out;
	return 0;
}

/* ---- pmemaccess servers ------------------------------------------------ */

int qvmid_proxy_start_pmem(struct qvmid_proxy *p, const char *path, bool once)
{
	int err;

	if (p->npmem >= PROXY_PMEM_MAX)
		return -ENOSPC;
	/* query-qvmi reports the path: a byte string that is not UTF-8
	 * would make every later reply invalid JSON text (RFC 8259 8.1). */
	if (!pj_utf8_ok(path, strlen(path)))
		return -EILSEQ;
	err = qvmid_pmem_server_create(p->ctx, path, &p->o.pmem,
				       &p->pmem[p->npmem]);
	if (err)
		return err;
	err = qvmid_proxy_add_service(p, &qvmid_pmem_service,
				      p->pmem[p->npmem]);
	if (err) {
		qvmid_pmem_server_destroy(p->pmem[p->npmem]);
		return err;
	}
	p->pmem_once[p->npmem++] = once;
	return 0;
}

int qvmid_proxy_add_session(struct qvmid_proxy *p, const char *path,
			    const struct qvmid_session_opts *o)
{
	if (p->session)
		return -EEXIST;
	return qvmid_session_server_create(p->ctx, path, o, &p->session);
}

int qvmid_proxy_add_pmem(struct qvmid_proxy *p, const char *path)
{
	return qvmid_proxy_start_pmem(p, path, false);
}

/*
 * The patched QEMU's pmemaccess (memory-access.c, 2011/2015) accepted one
 * connection, served it, then closed the socket and unlinked the path;
 * LibVMI starts a new one for every session.  Do the same for servers the
 * command started, so sessions do not pile up sockets.
 */
void qvmid_proxy_retire_pmem(struct qvmid_proxy *p)
{
	for (unsigned int i = p->npmem; i-- > 0;) {
		struct qvmid_pmem_stats st;

		if (!p->pmem_once[i])
			continue;
		qvmid_pmem_server_stats(p->pmem[i], &st);
		if (!st.accepted || st.clients)
			continue;
		qvmid_proxy_log(p, QVMI_LOG_INFO,
				"qmp-proxy: pmemaccess %s: session over, "
				"removing it",
				qvmid_pmem_server_path(p->pmem[i]));
		qvmid_proxy_remove_service(p, p->pmem[i]);
		memmove(p->pmem + i, p->pmem + i + 1,
			(p->npmem - i - 1) * sizeof(p->pmem[0]));
		memmove(p->pmem_once + i, p->pmem_once + i + 1,
			(p->npmem - i - 1) * sizeof(p->pmem_once[0]));
		p->npmem--;
	}
}
