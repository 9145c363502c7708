/* CRC-32C checksums for the file store's headers and batches. */
#ifndef SPI_STORAGE_CRC32C_H
#define SPI_STORAGE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of `len` bytes. */
uint32_t spi_crc32c(const void *data, size_t len);
/* Continue a CRC over more bytes: spi_crc32c_update(spi_crc32c(a), b) is the CRC of a
 * followed by b. */
uint32_t spi_crc32c_update(uint32_t crc, const void *data, size_t len);

#endif /* SPI_STORAGE_CRC32C_H */
