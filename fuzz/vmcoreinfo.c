// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMCOREINFO text (src/os/linux/vmcoreinfo.c) as an ELF dump carries it:
 * arbitrary bytes, NUL-terminated like the dump layer does.  Oracles: a
 * found value is NUL-terminated within the buffer, contains no newline,
 * and appears in the text right after "key="; numbers parse only from
 * values that are entirely digits (hex, or decimal with one '-').
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "os/linux/kernel-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static const char *const keys[] = {
	"OSRELEASE",	     "SYMBOL(_stext)", "SYMBOL(kallsyms_token_table)",
	"NUMBER(phys_base)", "KERNELOFFSET",   "A",
};

static void one(const char *text, const char *key)
{
	char v[64], pat[80];
	uint64_t u;
	int64_t s;

	if (!qvmi__vmci_str(text, key, v, sizeof(v))) {
		must(memchr(v, '\0', sizeof(v)) != NULL);
		must(!strchr(v, '\n'));
		strcpy(pat, key);
		strcat(pat, "=");
		strncat(pat, v, sizeof(pat) - strlen(pat) - 1);
		must(strstr(text, pat) != NULL);
	}
	if (!qvmi__vmci_u64(text, key, 16, &u)) {
		must(!qvmi__vmci_str(text, key, v, sizeof(v)));
		must(v[0] &&
		     strspn(v, "0123456789abcdefABCDEFxX") == strlen(v));
	}
	if (!qvmi__vmci_num(text, key, &s)) {
		must(!qvmi__vmci_str(text, key, v, sizeof(v)));
		must(strspn(v[0] == '-' ? v + 1 : v, "0123456789") ==
		     strlen(v[0] == '-' ? v + 1 : v));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > 1 << 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		one(text, keys[i]);
	free(text);
	return 0;
}
