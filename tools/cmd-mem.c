// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmi read / write: guest-physical memory commands (find: cmd-find.c,
 * dump: cmd-dump.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

enum { READ_MAX = 64 << 20, WRITE_MAX = 16 << 20 };

/* Run cli_parse and map its result to "positional index" or an exit code
 * (returned negated-minus-one in *exit_code). */
static int parse_or_exit(struct cli *cli, const char *name, int argc,
			 char **argv, const struct option *opts, cli_opt_fn fn,
			 void *data, int *exit_code)
{
	int r = cli_parse(cli, cli_find_cmd(name), argc, argv, opts, fn, data);

	if (r == CLI_EXIT_HELP)
		*exit_code = 0;
	else if (r < 0)
		*exit_code = 2;
	return r;
}

/* ---- read ------------------------------------------------------------- */

struct read_args {
	uint64_t len;
	bool raw;
	/* --va: a guest-virtual address in the space of --dtb, --vcpu's CR3
	 * or --pid's page table (default: vCPU 0's CR3). */
	bool va_set;
	uint64_t va, dtb, vcpu;
	const char *pid;
	int space; /* 0 vcpu, 1 dtb, 2 pid */
};

enum {
	OPT_LEN = OPT_CMD_BASE,
	OPT_RAW,
	OPT_STRING,
	OPT_FILE,
	OPT_VA,
	OPT_DTB,
	OPT_VCPU,
	OPT_PID,
};

static int read_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct read_args *a = data;
	int bad = 0;

	switch (opt) {
	case OPT_RAW:
		a->raw = true;
		return 0;
	case OPT_PID:
		a->pid = arg;
		a->space = 2;
		return 0;
	case OPT_VA:
		a->va_set = true;
		bad = cli_parse_u64(arg, &a->va);
		break;
	case OPT_DTB:
		a->space = 1;
		bad = cli_parse_u64(arg, &a->dtb);
		break;
	case OPT_VCPU:
		a->space = 0;
		bad = cli_parse_u64(arg, &a->vcpu) || a->vcpu >= 4096;
		break;
	case OPT_LEN:
		if (cli_parse_size(arg, &a->len) || !a->len ||
		    a->len > READ_MAX) {
			fprintf(stderr, "qvmi: bad --len '%s' (1..%d)\n", arg,
				READ_MAX);
			return -1;
		}
		return 0;
	}
	if (bad) {
		fprintf(stderr, "qvmi: bad number '%s'\n", arg);
		return -1;
	}
	return 0;
}

static void read_json(uint64_t addr, const uint8_t *buf, size_t len)
{
	struct json_object *o = json_object_new_object();
	char *hex = malloc(len * 2 + 1);
	size_t i;

	for (i = 0; hex && i < len; i++)
		sprintf(hex + 2 * i, "%02x", buf[i]);
	if (hex)
		hex[len * 2] = '\0';
	json_object_object_add(o, "address", json_object_new_uint64(addr));
	json_object_object_add(o, "length", json_object_new_uint64(len));
	json_object_object_add(o, "hex",
			       json_object_new_string(hex ? hex : ""));
	free(hex);
	cli_json_print(o);
}

/* The page table of the address space --va reads in. */
static int read_dtb(struct cli *cli, const struct read_args *a, uint64_t *ret)
{
	struct qvmi_linux_task t;
	struct qvmi_linux *lx = NULL;
	struct qvmi_regs_x86 r;
	int32_t pid;
	int err;

	if (a->space == 1) {
		*ret = a->dtb;
		return 0;
	}
	if (a->space == 0) {
		err = qvmi_get_regs(cli->ctx, (unsigned int)a->vcpu, &r);
		if (err)
			return cli_fail(cli, "registers", err);
		*ret = r.cr3;
		return 0;
	}
	if (cli_parse_pid(a->pid, &pid) || cli_linux_open(cli, &lx))
		return 1;
	err = qvmi_linux_task_find(lx, pid, QVMI_LINUX_THREADS, &t);
	if (!err && !t.dtb)
		err = -ESRCH;
	qvmi_linux_destroy(lx);
	if (err)
		return cli_fail(cli, "pid", err);
	*ret = t.dtb;
	return 0;
}

int cmd_read(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "len", required_argument, NULL, OPT_LEN },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ "va", required_argument, NULL, OPT_VA },
		{ "dtb", required_argument, NULL, OPT_DTB },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "pid", required_argument, NULL, OPT_PID },
		{ 0 },
	};
	struct read_args a = { .len = 256 };
	uint64_t addr, dtb = 0;
	uint8_t *buf;
	int i, err, rc = 0;

	i = parse_or_exit(cli, "read", argc, argv, opts, read_opt, &a, &rc);
	if (i < 0)
		return rc;
	if (a.va_set ? argc != i :
		       argc - i != 1 || cli_parse_u64(argv[i], &addr))
		return cli_usage_error(cli_find_cmd("read"),
				       "need one ADDR, or --va ADDR"),
		       2;
	if (cli_attach(cli))
		return 1;
	if (a.va_set) {
		addr = a.va;
		if (read_dtb(cli, &a, &dtb))
			return 1;
	}
	buf = malloc(a.len);
	if (!buf)
		return cli_fail(cli, "read", -ENOMEM);
	err = a.va_set ? qvmi_read_va(cli->ctx, dtb, addr, buf, a.len) :
			 qvmi_read_pa(cli->ctx, addr, buf, a.len);
	if (err)
		rc = cli_fail(cli, "read", err);
	else if (a.raw)
		rc = fwrite(buf, 1, a.len, stdout) == a.len ? 0 : 1;
	else if (cli->json)
		read_json(addr, buf, a.len);
	else
		cli_hexdump(stdout, addr, buf, a.len);
	free(buf);
	return rc;
}

/* ---- write ------------------------------------------------------------ */

struct write_args {
	const char *string;
	const char *file;
};

static int write_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct write_args *a = data;

	if (opt == OPT_STRING)
		a->string = arg;
	else if (opt == OPT_FILE)
		a->file = arg;
	return 0;
}

/* "de ad be ef", "deadbeef", "0xde,0xad": hex digits in pairs. */
int cli_parse_hex(const char *s, uint8_t **ret, size_t *nret)
{
	size_t cap = strlen(s) / 2 + 1, n = 0;
	uint8_t *b = malloc(cap);
	int hi = -1;

	if (!b)
		return -ENOMEM;
	for (; *s; s++) {
		int v;

		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && hi < 0) {
			s++;
			continue;
		}
		if (isspace((unsigned char)*s) || *s == ',' || *s == ':') {
			if (hi >= 0)
				goto bad;
			continue;
		}
		if (!isxdigit((unsigned char)*s))
			goto bad;
		v = isdigit((unsigned char)*s) ?
			    *s - '0' :
			    tolower((unsigned char)*s) - 'a' + 10;
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0 || !n)
		goto bad;
	*ret = b;
	*nret = n;
	return 0;
bad:
	free(b);
	return -EINVAL;
}

static int read_file(const char *path, uint8_t **ret, size_t *nret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b;
	ssize_t r;
	size_t n = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > WRITE_MAX) {
		close(fd);
		return -EINVAL;
	}
	b = malloc((size_t)st.st_size);
	while (b && n < (size_t)st.st_size) {
		r = read(fd, b + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!b || n != (size_t)st.st_size) {
		free(b);
		return b ? -EIO : -ENOMEM;
	}
	*ret = b;
	*nret = n;
	return 0;
}

int cmd_write(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "string", required_argument, NULL, OPT_STRING },
		{ "file", required_argument, NULL, OPT_FILE },
		{ 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd("write");
	struct write_args a = { 0 };
	uint8_t *data = NULL;
	size_t n = 0;
	uint64_t addr;
	int i, err, rc = 0;

	i = parse_or_exit(cli, "write", argc, argv, opts, write_opt, &a, &rc);
	if (i < 0)
		return rc;
	if (argc - i < 1 || cli_parse_u64(argv[i], &addr))
		return cli_usage_error(cmd, "need ADDR"), 2;
	if ((argc - i == 2) + !!a.string + !!a.file != 1)
		return cli_usage_error(cmd, "give exactly one of HEXBYTES, "
					    "--string, --file"),
		       2;
	if (a.string) {
		n = strlen(a.string);
		data = (uint8_t *)strdup(a.string);
		err = data && n ? 0 : -EINVAL;
	} else if (a.file) {
		err = read_file(a.file, &data, &n);
	} else {
		err = cli_parse_hex(argv[i + 1], &data, &n);
	}
	if (err) {
		free(data);
		fprintf(stderr, "qvmi: write: bad data (%s)\n", strerror(-err));
		return 2;
	}
	if (cli_attach(cli)) {
		free(data);
		return 1;
	}
	err = qvmi_write_pa(cli->ctx, addr, data, n);
	if (err)
		rc = cli_fail(cli, "write", err);
	else if (!cli->json)
		printf("wrote %zu bytes at 0x%llx\n", n,
		       (unsigned long long)addr);
	free(data);
	return rc;
}
