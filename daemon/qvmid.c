// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid: sits next to one VM and serves LibVMI's pmemaccess protocol from
 * the fastest memory libqvmi finds (shared RAM, then QEMU's process memory,
 * then QMP xp), and proxies QEMU's QMP socket for management clients
 * (docs/QVMID.md).  Foreground by default, logs on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "kvmi-server.h"
#include "qmp-proxy.h"
#include "session-server.h"
#include "attach/qvmid.h"
#include "proto/qmp.h"

struct qvmid {
	const char *qmp_path, *listen_qmp, *session_tcp;
	char *session_connect;
	bool session_vsock;
	char *pmem_path, *pidfile, *listen_abs, *session_path, *session_key;
	char *gdb_path, *ledger_path;
	struct qvmid_pmem_opts popts;
	int pmem_workers; /* -1: QVMID_PMEM_WORKERS_DEFAULT */
	struct qvmid_session_opts sopts;
	struct qvmid_kvmi_args kvmi;
	int verbose;
	bool daemonize, use_syslog;
	bool no_async_unhook, no_unhook_on_shutdown;
	int qmp_wait_ms, qemu_pid; /* --qmp-wait, --qemu-pid */
	struct qvmi_ctx *ctx;
	struct qvmid_proxy *proxy;
};

static struct qvmid_proxy *volatile g_proxy;
static volatile sig_atomic_t g_stop;

static void log_cb(enum qvmi_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	const struct qvmid *d = arg;

	if ((int)level > d->verbose + QVMI_LOG_WARN)
		return;
	if (d->use_syslog)
		syslog(prio[level], "%s", msg);
	else
		fprintf(stderr, "qvmid: %s: %s\n", names[level], msg);
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_proxy)
		qvmid_proxy_stop(g_proxy);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qvmid --qmp QEMU_QMP_SOCK [--pmemaccess PATH] "
		"[--listen-qmp PATH]\n"
		"             [--max-transfer N] [--max-clients N]\n"
		"             [--idle-timeout MS] [--daemonize --pidfile F] "
		"[-v]\n"
		"Serve LibVMI's pmemaccess protocol for the VM behind the QMP "
		"socket.\n"
		"  --qmp PATH           QEMU's QMP unix socket, or fd:M (one "
		"connected to it)\n"
		"  --qmp-wait MS        retry connecting this long (QEMU not "
		"listening yet);\n"
		"                       with fd:M, wait this long for QEMU's "
		"greeting\n"
		"  --qemu-pid PID       QEMU's pid, where the socket's peer is "
		"another process\n"
		"  --pmemaccess PATH    serve pmemaccess on this unix socket\n"
		"  --max-transfer N     largest read/write (default 1M; K/M "
		"suffixes)\n"
		"  --max-clients N      connections served at once (default "
		"1024)\n"
		"  --idle-timeout MS    drop clients idle this long (default "
		"never)\n"
		"  --pmem-workers N     threads serving pmemaccess connections, "
		"one per\n"
		"                       connection up to N (default and most 64; "
		"0: the\n"
		"                       main loop)\n"
		"  --listen-qmp PATH    QMP proxy for management clients (adds "
		"the\n"
		"                       pmemaccess and query-qvmi commands); "
		"fd:N or\n"
		"                       systemd[:NAME]: an inherited listening "
		"socket\n"
		"  --session PATH       introspection sessions (docs/PROTOCOL.md)"
		"\n"
		"  --session-tcp ADDR:PORT  sessions over TCP too (A.B.C.D:PORT "
		"or\n"
		"                       [IPv6]:PORT); needs --session-key\n"
		"  --session-vsock PORT     sessions over vsock too (any CID); "
		"needs\n"
		"                       --session-key\n"
		"  --session-connect ADDR   connect out to a listening tool: "
		"PATH,\n"
		"                       tcp:A.B.C.D:PORT, tcp:[IPv6]:PORT or "
		"vsock:CID:PORT;\n"
		"                       needs --session-key\n"
		"  --reconnect-interval MS  between connect-out attempts "
		"(default 1000)\n"
		"  --session-key FILE   their shared secret (>= 32 bytes, 0600)\n"
		"  --allow-command L, --deny-command L, --allow-event L,\n"
		"  --deny-event L       session policy: comma lists of names or "
		"'all'\n"
		"  --session-auth-timeout MS  handshake deadline (default 5000)\n"
		"  --unhook-timeout MS  wait this long for a hooked tool to "
		"unhook before\n"
		"                       a held stop/reset/migrate/quit/powerdown "
		"goes on\n"
		"                       (default 5000)\n"
		"  --gdb PATH           QEMU's gdbstub socket: session "
		"breakpoints,\n"
		"                       watchpoints and single-step\n"
		"  --event-timeout MS   a breakpoint event keeps the VM stopped "
		"this long\n"
		"                       waiting for the tool (default 2000)\n"
		"  --step-timeout MS    a single-step that has not ended (a "
		"halted vCPU)\n"
		"                       is stopped and reported failed after "
		"this (default 1000)\n"
		"  --ledger PATH        inserted breakpoints, for cleanup after a "
		"crash\n"
		"                       (default: the session socket + "
		"\".ledger\")\n"
		"  --no-async-unhook    a client's later commands wait behind "
		"its held one\n"
		"  --no-unhook-on-shutdown  quit and system_powerdown are not "
		"held\n"
		"%s"
		"  --daemonize          detach; logs go to syslog\n"
		"  --pidfile F          write the pid here (with --daemonize)\n"
		"  -v                   more logs (repeat for debug)\n",
		qvmid_kvmi_usage);
}

static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	/* 1 GiB: far above any sane request, and the staging buffers are
	 * this size. */
	if (*end || !v || v > (1ull << 30))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The socket is removed after we chdir("/"), so keep absolute paths. */
static char *absolute(const char *p)
{
	char cwd[PATH_MAX], *r;

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(p);
	if (asprintf(&r, "%s/%s", cwd, p) < 0)
		return NULL;
	return r;
}

/* A vsock port: 0..2^32-2 (2^32-1 is VMADDR_PORT_ANY). */
static int parse_u32(const char *s, uint32_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v >= UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int bad_value(const char *opt, const char *arg)
{
	fprintf(stderr, "qvmid: bad value for --%s: %s\n", opt, arg);
	return -EINVAL;
}

static bool any_session(const struct qvmid *d)
{
	return d->session_path || d->session_tcp || d->session_vsock ||
	       d->session_connect;
}

/* --allow-command (A), --deny-command (D), --allow-event (E),
 * --deny-event (F), in order over the defaults. */
static int session_policy(struct qvmid *d, int c, const char *list)
{
	const char *bad = list;
	int err;

	if (!d->sopts.policy_set)
		qvmid_session_policy_init(&d->sopts.policy);
	d->sopts.policy_set = true;
	err = qvmid_session_policy_apply(&d->sopts.policy, list,
					 c == 'A' || c == 'E',
					 c == 'E' || c == 'F', &bad);
	if (err)
		fprintf(stderr,
			"qvmid: unknown %s name in \"%s\" (see "
			"docs/PROTOCOL.md)\n",
			c == 'E' || c == 'F' ? "event" : "command", bad);
	return err;
}

static int parse_args(struct qvmid *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "qmp", required_argument, NULL, 'q' },
		{ "listen-qmp", required_argument, NULL, 'l' },
		{ "qmp-wait", required_argument, NULL, 'W' },
		{ "qemu-pid", required_argument, NULL, 'Q' },
		{ "pmemaccess", required_argument, NULL, 'p' },
		{ "max-transfer", required_argument, NULL, 't' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "pmem-workers", required_argument, NULL, 'w' },
		{ "session", required_argument, NULL, 'S' },
		{ "session-key", required_argument, NULL, 'K' },
		{ "session-tcp", required_argument, NULL, 'N' },
		{ "session-vsock", required_argument, NULL, 'V' },
		{ "session-connect", required_argument, NULL, 'C' },
		{ "reconnect-interval", required_argument, NULL, 'R' },
		{ "allow-command", required_argument, NULL, 'A' },
		{ "deny-command", required_argument, NULL, 'D' },
		{ "allow-event", required_argument, NULL, 'E' },
		{ "deny-event", required_argument, NULL, 'F' },
		{ "session-auth-timeout", required_argument, NULL, 'T' },
		{ "unhook-timeout", required_argument, NULL, 'U' },
		{ "no-async-unhook", no_argument, NULL, 'a' },
		{ "gdb", required_argument, NULL, 'g' },
		{ "event-timeout", required_argument, NULL, 'e' },
		{ "step-timeout", required_argument, NULL, 'X' },
		{ "ledger", required_argument, NULL, 'L' },
		{ "no-unhook-on-shutdown", no_argument, NULL, 'u' },
		{ "daemonize", no_argument, NULL, 'd' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		QVMID_KVMI_LONGOPTS,
		{ 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			d->qmp_path = optarg;
			break;
		case 'W':
		case 'Q':
			if (parse_size(optarg, &v) || v > INT_MAX ||
			    (c == 'Q' && !v))
				return bad_value(c == 'W' ? "qmp-wait" :
							    "qemu-pid",
						 optarg);
			*(c == 'W' ? &d->qmp_wait_ms : &d->qemu_pid) = (int)v;
			break;
		case 'l':
			free(d->listen_abs);
			/* "fd:N" and "systemd[:NAME]" are inherited sockets */
			d->listen_abs =
				!strncmp(optarg, "fd:", 3) ||
						!strcmp(optarg, "systemd") ||
						!strncmp(optarg,
							 "systemd:", 8) ?
					strdup(optarg) :
					absolute(optarg);
			d->listen_qmp = d->listen_abs;
			break;
		case 'p':
			free(d->pmem_path);
			d->pmem_path = absolute(optarg);
			break;
		case 't':
			if (parse_size(optarg, &d->popts.max_transfer))
				goto bad;
			break;
		case 'c':
			if (parse_size(optarg, &v) || v > 1000000)
				goto bad;
			d->popts.max_clients = (unsigned int)v;
			break;
		case 'i':
			if (parse_size(optarg, &v) || v > INT_MAX)
				goto bad;
			d->popts.idle_timeout_ms = (int)v;
			break;
		case 'w':
			if (parse_size(optarg, &v) ||
			    v > QVMID_PMEM_WORKERS_DEFAULT)
				goto bad;
			d->pmem_workers = (int)v;
			break;
		case 'S':
			free(d->session_path);
			d->session_path = absolute(optarg);
			break;
		case 'N':
			d->session_tcp = optarg;
			break;
		case 'V':
			if (parse_u32(optarg, &d->sopts.vsock_port))
				return bad_value("session-vsock", optarg);
			d->session_vsock = true;
			break;
		case 'C':
			/* A unix path must survive --daemonize's chdir. */
			free(d->session_connect);
			d->session_connect =
				strncmp(optarg, "tcp:", 4) &&
						strncmp(optarg, "vsock:", 6) ?
					absolute(strncmp(optarg, "unix:", 5) ?
							 optarg :
							 optarg + 5) :
					strdup(optarg);
			break;
		case 'R':
			if (parse_size(optarg, &v) || v > INT_MAX)
				return bad_value("reconnect-interval", optarg);
			d->sopts.reconnect_interval_ms = (int)v;
			break;
		case 'K':
			free(d->session_key);
			d->session_key = absolute(optarg);
			break;
		case 'A':
		case 'D':
		case 'E':
		case 'F':
			if (session_policy(d, c, optarg))
				return -EINVAL;
			break;
		case 'T':
			if (parse_size(optarg, &v) || v > INT_MAX)
				goto bad;
			d->sopts.auth_timeout_ms = (int)v;
			break;
		case 'U':
			if (parse_size(optarg, &v) || v > INT_MAX)
				goto bad;
			d->sopts.unhook_timeout_ms = (int)v;
			break;
		case 'g':
			free(d->gdb_path);
			d->gdb_path = absolute(optarg);
			break;
		case 'L':
			free(d->ledger_path);
			d->ledger_path = absolute(optarg);
			break;
		case 'e':
			if (parse_size(optarg, &v) || v > INT_MAX)
				goto bad;
			d->sopts.event_timeout_ms = (int)v;
			break;
		case 'X':
			if (parse_size(optarg, &v) || v > INT_MAX)
				goto bad;
			d->sopts.step_timeout_ms = (int)v;
			break;
		case 'a':
			d->no_async_unhook = true;
			break;
		case 'u':
			d->no_unhook_on_shutdown = true;
			break;
		case 'd':
			d->daemonize = true;
			break;
		case 'P':
			free(d->pidfile);
			d->pidfile = absolute(optarg);
			break;
		case 'v':
			d->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			if (c >= QVMID_KVMI_OPT_BASE) {
				if (qvmid_kvmi_option(&d->kvmi, c, optarg))
					return -EINVAL;
				break;
			}
			usage(stderr);
			return -EINVAL;
		}
	}
	/* TCP reaches past this host's file permissions: never without
	 * authentication (the session protocol has no unauthenticated
	 * mode, but say so before anything listens). */
	if (d->session_tcp && !d->session_key) {
		fprintf(stderr,
			"qvmid: --session-tcp requires --session-key\n");
		return -EINVAL;
	}
	if ((d->session_vsock || d->session_connect) && !d->session_key) {
		fprintf(stderr, "qvmid: --session-%s requires --session-key\n",
			d->session_vsock ? "vsock" : "connect");
		return -EINVAL;
	}
	if (optind != argc || !d->qmp_path ||
	    (!d->pmem_path && !d->listen_qmp && !any_session(d) &&
	     !d->kvmi.connect) ||
	    (d->session_path && !d->session_key) ||
	    (d->gdb_path && !any_session(d) && !d->kvmi.connect)) {
		fprintf(stderr,
			"qvmid: --qmp and one of --pmemaccess, "
			"--listen-qmp or --session/--session-tcp (with "
			"--session-key) are required; --gdb needs a session\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "qvmid: bad value for --%s: %s\n",
		c == 't' ? "max-transfer" :
		c == 'c' ? "max-clients" :
		c == 'T' ? "session-auth-timeout" :
		c == 'U' ? "unhook-timeout" :
		c == 'e' ? "event-timeout" :
		c == 'X' ? "step-timeout" :
			   "idle-timeout",
		optarg);
	return -EINVAL;
}

/* Classic double fork.  The sockets already exist, so whoever started us
 * can connect as soon as we return. */
static int daemonize(struct qvmid *d)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0); /* _exit: the child owns the sockets now */
	setsid();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (chdir("/"))
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	openlog("qvmid", LOG_PID, LOG_DAEMON);
	d->use_syslog = true;
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}

/* A plain --qmp PATH may attach from the layout cache; a wait or an
 * inherited socket connects here first. */
static int attach(struct qvmid *d)
{
	char why[200];
	int fd, err;

	if (strncmp(d->qmp_path, "fd:", 3) && !d->qmp_wait_ms)
		return qvmi__attach_qmp_ex(d->ctx, d->qmp_path, -1, d->qemu_pid,
					   NULL);
	err = qvmid_qmp_connect(d->qmp_path, d->qmp_wait_ms, &fd, why,
				sizeof(why));
	if (err) {
		log_cb(QVMI_LOG_ERROR, why, d);
		return err;
	}
	{
		/* fd:M from a shim: QEMU may still be starting, so its
		 * greeting gets the wait too; later exchanges 5 s. */
		QVMI_OPTS(qvmi_attach_opts, o,
			  .timeout_ms = QVMI_MAX(d->qmp_wait_ms, 5000));

		err = qvmi__attach_qmp_ex(d->ctx, NULL, fd, d->qemu_pid, &o);
	}
	if (!err && qvmi__ctx_qmp(d->ctx))
		qvmi__qmp_set_timeout(qvmi__ctx_qmp(d->ctx), 5000);
	return err;
}

/* --kvmi-connect: a service of the proxy's loop (issue 12). */
static int add_kvmi(struct qvmid *d)
{
	struct qvmid_kvmi *k;
	int err;

	/* --gdb: the session's breakpoints, or KVMi's; one stub, one owner */
	if (d->gdb_path && any_session(d)) {
		fprintf(stderr, "qvmid: --gdb serves the session or "
				"--kvmi-connect, not both\n");
		return -EINVAL;
	}
	d->kvmi.o.gdb_path = d->gdb_path;
	d->kvmi.o.log = log_cb;
	d->kvmi.o.log_arg = d;
	err = qvmid_kvmi_create(d->ctx, &d->kvmi.o, &k);
	if (!err) {
		err = qvmid_proxy_add_service(d->proxy, &qvmid_kvmi_service, k);
		if (err)
			qvmid_kvmi_destroy(k);
	}
	if (err)
		fprintf(stderr, "qvmid: --kvmi-connect %s: %s\n",
			d->kvmi.connect, strerror(-err));
	return err;
}

static int setup(struct qvmid *d)
{
	int err = qvmi_ctx_create(&d->ctx);

	if (err)
		return err;
	qvmi_set_log(d->ctx, log_cb, d, QVMI_LOG_DEBUG);
	d->popts.log = log_cb;
	d->popts.log_arg = d;
	/* -1: a thread per connection up to 64 (pmem-worker.c says why) */
	d->popts.workers = d->pmem_workers < 0 ? QVMID_PMEM_WORKERS_DEFAULT :
						 (unsigned int)d->pmem_workers;
	err = attach(d);
	if (err) {
		fprintf(stderr, "qvmid: attach %s: %s\n", d->qmp_path,
			qvmi_errmsg(d->ctx));
		return err;
	}
	for (size_t i = 0; i < qvmi_map_count(d->ctx); i++) {
		struct qvmi_map_entry e;
		char msg[160];

		if (qvmi_map_get(d->ctx, i, &e))
			continue;
		snprintf(msg, sizeof(msg),
			 "map 0x%" PRIx64 "+0x%" PRIx64 " <- %s", e.gpa, e.size,
			 e.source);
		log_cb(QVMI_LOG_INFO, msg, d);
	}
	{
		struct qvmid_proxy_opts po = {
			.listen_path = d->listen_qmp,
			.pmem = d->popts,
			.no_async_unhook = d->no_async_unhook,
			.no_unhook_on_shutdown = d->no_unhook_on_shutdown,
			.log = log_cb,
			.log_arg = d,
		};

		err = qvmid_proxy_create(d->ctx, &po, &d->proxy);
	}
	if (err && d->listen_qmp)
		fprintf(stderr, "qvmid: QMP proxy %s: %s\n", d->listen_qmp,
			qvmi_errcode(d->ctx) ? qvmi_errmsg(d->ctx) :
					       strerror(-err));
	else if (err) /* the loop needs QMP, proxy or not */
		fprintf(stderr, "qvmid: %s: %s\n", d->qmp_path,
			qvmi_errcode(d->ctx) ? qvmi_errmsg(d->ctx) :
					       strerror(-err));
	if (err)
		return err;
	err = d->pmem_path ? qvmid_proxy_add_pmem(d->proxy, d->pmem_path) : 0;
	if (err) {
		fprintf(stderr, "qvmid: pmemaccess socket %s: %s\n",
			d->pmem_path, strerror(-err));
		return err;
	}
	d->sopts.key_path = d->session_key;
	d->sopts.gdb_path = d->gdb_path;
	d->sopts.tcp_addr = d->session_tcp;
	d->sopts.vsock = d->session_vsock;
	d->sopts.connect_addr = d->session_connect;
	if (d->gdb_path && !d->ledger_path && d->session_path &&
	    asprintf(&d->ledger_path, "%s.ledger", d->session_path) < 0)
		d->ledger_path = NULL;
	d->sopts.ledger_path = d->ledger_path;
	d->sopts.log = log_cb;
	d->sopts.log_arg = d;
	if (d->kvmi.connect)
		err = add_kvmi(d);
	if (err)
		return err;
	err = any_session(d) ?
		      qvmid_proxy_add_session(d->proxy, d->session_path,
					      &d->sopts) :
		      0;
	if (err)
		fprintf(stderr, "qvmid: session socket %s%s%s%s%s: %s\n",
			d->session_path ?: "", d->session_tcp ? " tcp " : "",
			d->session_tcp ?: "",
			d->session_connect ? " connect " : "",
			d->session_connect ?: "", strerror(-err));
	return err;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void free_args(struct qvmid *d)
{
	free(d->pmem_path);
	free(d->session_path);
	free(d->session_key);
	free(d->session_connect);
	free(d->gdb_path);
	free(d->ledger_path);
	free(d->listen_abs);
	free(d->pidfile);
	qvmid_kvmi_args_free(&d->kvmi);
}

int main(int argc, char **argv)
{
	struct qvmid d = { .pmem_workers = -1 };
	int err = parse_args(&d, argc, argv);

	if (err) {
		free_args(&d);
		return 2;
	}
	/* Before anything is created, so a signal never skips the cleanup. */
	install_signals();
	err = setup(&d);
	if (!err && d.daemonize)
		err = daemonize(&d);
	if (!err && d.pidfile)
		err = write_pidfile(d.pidfile);
	if (!err) {
		g_proxy = d.proxy;
		if (g_stop) /* a signal came before g_proxy was set */
			qvmid_proxy_stop(d.proxy);
		err = qvmid_proxy_run(d.proxy);
		g_proxy = NULL;
		if (!err) /* a signal: the hooked tool unhooks first */
			qvmid_proxy_shutdown(d.proxy);
		if (err == -EPIPE)
			err = 0; /* the VM is gone: a normal end */
	}
	if (err)
		log_cb(QVMI_LOG_ERROR, strerror(-err), &d);
	qvmid_proxy_destroy(d.proxy);
	qvmi_ctx_destroy(d.ctx);
	if (d.pidfile)
		unlink(d.pidfile);
	free_args(&d);
	log_cb(QVMI_LOG_INFO, "stopped", &d);
	return err ? 1 : 0;
}
