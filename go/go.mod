module concurrency-compare

go 1.24
