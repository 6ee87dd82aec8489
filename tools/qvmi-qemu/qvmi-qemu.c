// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi-qemu: a libvirt domain's <emulator> that puts qvmid in the
 * domain's QMP monitor path (docs/LIBVIRT.md).
 *
 * libvirt 9.0 pre-binds the monitor socket and passes QEMU the listening
 * fd (-chardev socket,id=charmonitor,fd=N,server=on,wait=off), then
 * connects once.  This shim:
 * - makes a socketpair; qvmid gets one end (--qmp fd:M) and libvirt's
 *   listening fd (--listen-qmp fd:N), QEMU the other end as a connected
 *   client chardev (fd=M',server=off);
 * - starts qvmid first, detached (double fork: it is nobody's child
 *   but init's, and needs no fork from QEMU, so -sandbox spawn=deny
 *   holds), then execs QEMU in its own process: libvirt's pid is QEMU's,
 *   and SO_PEERCRED on the socketpair names QEMU to qvmid;
 * - passes every other command line (libvirt's capability probe) to QEMU
 *   untouched.
 * qvmid ends when QEMU closes the monitor.  Config: /etc/qvmi/qvmi-qemu.conf
 * (or $QVMI_QEMU_CONF), "key = value" lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_ARGS = 32, VAL_MAX = 512 };

struct conf {
	char qemu[VAL_MAX], qvmid[VAL_MAX];
	char pmem_dir[VAL_MAX], session_dir[VAL_MAX], session_key[VAL_MAX];
	char gdb_dir[VAL_MAX], kvmi_dir[VAL_MAX];
	char qvmid_args[VAL_MAX];
	int wait_ms;
};

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qvmi-qemu: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static char *trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void conf_set(struct conf *c, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "qemu", offsetof(struct conf, qemu) },
		{ "qvmid", offsetof(struct conf, qvmid) },
		{ "pmemaccess_dir", offsetof(struct conf, pmem_dir) },
		{ "session_dir", offsetof(struct conf, session_dir) },
		{ "session_key", offsetof(struct conf, session_key) },
		{ "gdb_dir", offsetof(struct conf, gdb_dir) },
		{ "kvmi_dir", offsetof(struct conf, kvmi_dir) },
		{ "qvmid_args", offsetof(struct conf, qvmid_args) },
	};

	if (!strcmp(k, "qmp_wait_ms")) {
		c->wait_ms = atoi(v);
		return;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(k, keys[i].key))
			continue;
		if (strlen(v) >= VAL_MAX)
			die("config value too long for %s", k);
		strcpy((char *)c + keys[i].off, v);
		return;
	}
	die("unknown config key %s", k);
}

static void conf_read(struct conf *c)
{
	const char *path = getenv("QVMI_QEMU_CONF");
	char line[VAL_MAX + 64];
	FILE *f;

	memset(c, 0, sizeof(*c));
	strcpy(c->qemu, "/usr/bin/qemu-system-x86_64");
	strcpy(c->qvmid, "qvmid");
	c->wait_ms = 60000; /* QEMU's greeting, under TCG on a loaded host */
	f = fopen(path ? path : "/etc/qvmi/qvmi-qemu.conf", "re");
	if (!f) {
		if (path || errno != ENOENT)
			die("cannot read the config file %s",
			    path ? path : "/etc/qvmi/qvmi-qemu.conf");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq)
			die("config line without '=': %s", s);
		*eq = '\0';
		conf_set(c, trim(s), trim(eq + 1));
	}
	fclose(f);
}

/* libvirt's monitor: "-chardev socket,id=charmonitor,fd=N,server=on,...":
 * the index of that value in argv, and N. */
static int find_monitor(int argc, char **argv, int *fd)
{
	for (int i = 1; i + 1 < argc; i++) {
		const char *v = argv[i + 1], *p;
		char *end;
		long n;

		if (strcmp(argv[i], "-chardev") ||
		    strncmp(v, "socket,id=charmonitor,", 22) ||
		    !strstr(v, ",server=on"))
			continue;
		p = strstr(v, ",fd=");
		if (!p)
			continue;
		n = strtol(p + 4, &end, 10);
		if (end == p + 4 || (*end && *end != ',') || n < 0 ||
		    n > 65535 || fcntl((int)n, F_GETFD) < 0)
			continue;
		*fd = (int)n;
		return i + 1;
	}
	return -1;
}

/* -name guest=NAME,... (or -name NAME): for per-domain socket paths. */
static const char *domain_name(int argc, char **argv, char *buf, size_t n)
{
	for (int i = 1; i + 1 < argc; i++) {
		const char *v = argv[i + 1];
		size_t len;

		if (strcmp(argv[i], "-name"))
			continue;
		if (!strncmp(v, "guest=", 6))
			v += 6;
		len = strcspn(v, ",");
		if (!len || len >= n)
			break;
		memcpy(buf, v, len);
		buf[len] = '\0';
		if (strchr(buf, '/') || buf[0] == '.')
			break; /* not a path component */
		return buf;
	}
	return NULL;
}

static void add(char **args, int *n, char *s)
{
	if (*n >= MAX_ARGS - 1)
		die("too many qvmid arguments");
	args[(*n)++] = s;
	args[*n] = NULL;
}

static char *path_in(const char *dir, const char *name, const char *ext)
{
	char *s;

	if (asprintf(&s, "%s/%s.%s", dir, name, ext) < 0)
		die("out of memory");
	return s;
}

static char *fd_arg(int fd)
{
	char *s;

	if (asprintf(&s, "fd:%d", fd) < 0)
		die("out of memory");
	return s;
}

/* The gdbstub serves one owner in qvmid: the session if there is one,
 * else KVMi (qvmid refuses --gdb with both). */
static int wants_gdb(const struct conf *c, const char *name)
{
	return c->gdb_dir[0] && name && (c->session_dir[0] || c->kvmi_dir[0]);
}

/* qvmid's command line for this domain. */
static void qvmid_argv(const struct conf *c, const char *name, int qmp_fd,
		       int listen_fd, char **args)
{
	static char wait[16];
	int n = 0;
	char *extra;

	snprintf(wait, sizeof(wait), "%d", c->wait_ms);
	add(args, &n, (char *)c->qvmid);
	add(args, &n, "--qmp");
	add(args, &n, fd_arg(qmp_fd));
	add(args, &n, "--qmp-wait");
	add(args, &n, wait);
	add(args, &n, "--listen-qmp");
	add(args, &n, fd_arg(listen_fd));
	if (c->pmem_dir[0] && name) {
		add(args, &n, "--pmemaccess");
		add(args, &n, path_in(c->pmem_dir, name, "pmem"));
	}
	if (c->session_dir[0] && name) {
		add(args, &n, "--session");
		add(args, &n, path_in(c->session_dir, name, "session"));
		add(args, &n, "--session-key");
		add(args, &n, (char *)c->session_key);
	}
	/* qvmid dials the KVMi tool (LibVMI listens there), and redials */
	if (c->kvmi_dir[0] && name) {
		add(args, &n, "--kvmi-connect");
		add(args, &n, path_in(c->kvmi_dir, name, "kvmi"));
	}
	/* QEMU makes the gdbstub's socket before its QMP greeting, and
	 * qvmid connects after it (the session's or KVMi's breakpoints). */
	if (wants_gdb(c, name)) {
		add(args, &n, "--gdb");
		add(args, &n, path_in(c->gdb_dir, name, "gdb"));
	}
	extra = strdup(c->qvmid_args);
	for (char *save = NULL, *t = strtok_r(extra, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		add(args, &n, t);
}

static void no_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC))
		die("fcntl: %s", strerror(errno));
}

/* qvmid, detached: a grandchild, reparented to init.  Its stderr is
 * QEMU's (libvirt's domain log). */
static void start_qvmid(char **args, int qvmid_end, int qemu_end, int listen_fd)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		setsid();
		if (fork() != 0)
			_exit(0);
		close(qemu_end);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		no_cloexec(qvmid_end);
		no_cloexec(listen_fd);
		execvp(args[0], args);
		fprintf(stderr, "qvmi-qemu: exec %s: %s\n", args[0],
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		die("starting qvmid failed");
}

/* QEMU's argv, plus its gdbstub when the config asks for one (it serves
 * qvmid's session or KVMi breakpoints and single-steps only). */
static char **with_gdb(const struct conf *c, const char *name, int argc,
		       char **argv)
{
	char **nv;
	char *path;

	if (!wants_gdb(c, name))
		return argv;
	nv = calloc((size_t)argc + 3, sizeof(*nv));
	path = path_in(c->gdb_dir, name, "gdb");
	if (!nv)
		die("out of memory");
	memcpy(nv, argv, (size_t)argc * sizeof(*nv));
	nv[argc] = "-gdb";
	if (asprintf(&nv[argc + 1], "unix:%s,server=on,wait=off", path) < 0)
		die("out of memory");
	return nv;
}

int main(int argc, char **argv)
{
	char name_buf[256], chardev[96], *args[MAX_ARGS];
	const char *name;
	struct conf c;
	int mon, lfd, sv[2];

	conf_read(&c);
	argv[0] = c.qemu;
	mon = find_monitor(argc, argv, &lfd);
	if (mon < 0) { /* not a domain start (the capability probe) */
		execv(c.qemu, argv);
		die("exec %s failed", c.qemu);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair: %s", strerror(errno));
	name = domain_name(argc, argv, name_buf, sizeof(name_buf));
	qvmid_argv(&c, name, sv[1], lfd, args);
	start_qvmid(args, sv[1], sv[0], lfd);
	/* QEMU: a client of qvmid's end; libvirt's listener is qvmid's. */
	close(sv[1]);
	close(lfd);
	no_cloexec(sv[0]);
	snprintf(chardev, sizeof(chardev),
		 "socket,id=charmonitor,fd=%d,server=off", sv[0]);
	argv[mon] = chardev;
	execv(c.qemu, with_gdb(&c, name, argc, argv));
	die("exec %s failed", c.qemu);
	return 1;
}
