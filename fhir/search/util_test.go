package search

import "time"

func msString(ms int64) string {
	switch ms {
	case MinTime:
		return "-inf"
	case MaxTime:
		return "+inf"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
