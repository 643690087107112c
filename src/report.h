/* Output helpers shared by the tools: JSON strings, human sizes. */
#ifndef CKBTRACE_REPORT_H
#define CKBTRACE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write s as a JSON string literal (quotes included). */
void json_string(FILE *out, const char *s);

/* Escape s into buf as a JSON string literal; length written, or -1 when
 * buf is too small (buf then holds a truncated but valid prefix). */
int json_escape(char *buf, size_t len, const char *s);

/* "812", "9.8K", "12.0M", "3.1G" in at most 6 characters. */
void fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* A latency in the display unit with 3 significant digits. */
void fmt_latency(char *buf, size_t len, double ns, double div);

/* "HH:MM:SS" of the wall clock. */
void fmt_wallclock(char *buf, size_t len);

#endif
