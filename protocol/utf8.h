/*
 * UTF-8 well-formedness (RFC 3629): shared by the method decoder, which
 * refuses malformed names as RabbitMQ does, and the JSON reader.
 */
#ifndef WARREN_PROTOCOL_UTF8_H
#define WARREN_PROTOCOL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length of the well-formed sequence at p (n > 0 bytes available), or 0.
 * Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
 * malformed (table 3-7 of the Unicode standard).
 */
size_t	proto_utf8_len(const uint8_t *p, size_t n);
/* Whether all n bytes at p are well-formed UTF-8 (NUL included). */
bool	proto_utf8_valid(const uint8_t *p, size_t n);

#endif /* WARREN_PROTOCOL_UTF8_H */
