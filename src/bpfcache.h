/* Compiled BPF images: their byte form (the compile child hands one back
 * in it, the cache stores it) and a cache of them, so that a tool
 * started again on the same host loads in milliseconds instead of
 * running LLVM.
 *
 * The cache is a trust boundary: root loads the bytecode it finds there.
 * Entries live in $CKBTRACE_CACHE_DIR or /var/cache/ckbtrace.  A
 * directory that is not owned by the effective user, or is group- or
 * world-writable (a symlink is judged by what it points to), is refused
 * with one line on stderr and the tool compiles without it.  Entries are
 * opened relative to the checked directory with O_NOFOLLOW and checked
 * with fstat (a regular file of the effective user, writable by no one
 * else); each carries a checksum over all its bytes, so a truncated or
 * altered entry is compiled again, never handed to the verifier, and the
 * name it was written under, so an entry renamed or copied over another
 * build's is not taken for it; writes
 * go to a temporary file in the same directory, then rename().
 * CKBTRACE_NO_CACHE turns the cache off. */
#ifndef CKBTRACE_BPFCACHE_H
#define CKBTRACE_BPFCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bpfsys.h"
#include "compile.h"

/* img in its byte form, in a malloc()ed buffer.  0 or -errno. */
int image_encode(const struct bpf_image *img, void **buf, size_t *len);

/* Parse and check (size, checksum, bounds) the byte form.  0, or
 * -EBADMSG for anything but a whole, unaltered image; img owns its
 * bytecode afterwards (image_free). */
int image_decode(const void *buf, size_t len, struct bpf_image *img);

/* The cache entry for build b, into img: 0, -ENOENT when there is none
 * (or caching is off, or the directory is refused), -EBADMSG when the
 * entry is damaged (said on stderr). */
int bpfcache_get(const struct bpf_build *b, struct bpf_image *img);

/* Store img as the entry for b; a failure is said on stderr only with
 * -v, since the tool works on without it. */
void bpfcache_put(const struct bpf_build *b, const struct bpf_image *img);

#endif
