// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * --domain NAME [--connect URI]: a libvirt domain (qvmi_attach_domain).
 *
 * The library loads libvirt.so.0 with dlopen.  A fully static program
 * cannot: the loaded libraries bring their own libc, with its own heap
 * and TLS (a static test binary crashed at exit).  So the static qvmi,
 * kept static for everyone else's speed, runs qvmi-libvirt, the same CLI
 * linked against a shared libc, with the same arguments: first beside
 * itself (the build tree), then in QVMI_LIBEXECDIR (make install).  It
 * does so at once, or, for a command that needs guest memory only, once
 * the attach says it needs libvirt (-ELIBACC): a QEMU the layout cache
 * knows is attached to with no libvirt at all.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef QVMI_LIBEXECDIR
#define QVMI_LIBEXECDIR "/usr/local/libexec"
#endif

/* Non-NULL in a dynamically linked program; a weak undefined symbol (NULL)
 * in a static non-PIE one, which is how the Makefile links qvmi. */
extern const char _DYNAMIC[] __attribute__((weak));

static const char twin_name[] = "qvmi-libvirt";

/* --domain before any "--", and --json, in argv. */
static bool scan(int argc, char **argv, bool *json)
{
	bool dom = false;

	*json = false;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		dom |= !strcmp(argv[i], "--domain") ||
		       !strncmp(argv[i], "--domain=", 9);
		*json |= !strcmp(argv[i], "--json");
	}
	return dom;
}

static char **saved_argv;

/* Commands that need guest memory only: the static qvmi tries them in
 * this process, since a QEMU the layout cache knows needs no libvirt
 * (the twin's start costs ~2.5 ms CPU more).  A QMP command after all
 * fails with -ELIBACC, cleanly. */
static const char *const memory_only[] = {
	"ps",  "pstree", "lsmod", "maps", "cmdline",
	"env", "dmesg",	 "sym",	  "find",
};

/* The twin beside /proc/self/exe, else in QVMI_LIBEXECDIR. */
static void run_twin(char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + sizeof(twin_name)], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	/* The twin is dynamic; this guards against a mis-installed one. */
	if (getenv("QVMI_LIBVIRT_TWIN") || setenv("QVMI_LIBVIRT_TWIN", "1", 1))
		return;
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, twin_name);
			execv(path, argv);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", QVMI_LIBEXECDIR, twin_name);
	execv(path, argv);
}

static int no_twin(struct cli *cli)
{
	return cli_error(cli, NULL, -ENOPKG,
			 "--domain: this qvmi is static and cannot load "
			 "libvirt, and its dynamic twin %s is not beside it "
			 "nor in %s",
			 twin_name, QVMI_LIBEXECDIR);
}

int cli_domain_reexec(int argc, char **argv, const char *cmd)
{
	struct cli cli = { 0 };

	if (_DYNAMIC || !scan(argc, argv, &cli.json))
		return 0;
	saved_argv = argv;
	for (size_t i = 0;
	     cmd && i < sizeof(memory_only) / sizeof(*memory_only); i++)
		if (!strcmp(cmd, memory_only[i]))
			return 0;
	run_twin(argv);
	return no_twin(&cli);
}

int cli_attach_domain(struct cli *cli)
{
	QVMI_OPTS(qvmi_attach_opts, aopts, .sources = cli->sources,
		  .timeout_ms = cli->timeout_ms, .cache_dir = cli->cache_dir);
	int err =
		qvmi_attach_domain(cli->ctx, cli->domain, cli->connect, &aopts);

	/* Not from the layout cache, and libvirt cannot be loaded here:
	 * nothing is printed yet, the twin does it all. */
	if (err == -ELIBACC && !_DYNAMIC && saved_argv) {
		run_twin(saved_argv);
		return no_twin(cli);
	}
	return err ? cli_fail(cli, cli->domain, err) : 0;
}
