// Copyright 2026 The kodomohub Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kodomohub/kodomohub/auth"
	"github.com/kodomohub/kodomohub/fhir"
	"github.com/kodomohub/kodomohub/importer"
	"github.com/kodomohub/kodomohub/ingest"
)

// $import-source: POST [base]/$import-source?source=NAME with the source's files as a
// multipart/form-data upload (each part with a file name is one file) runs an import in the
// background and answers 202 with Content-Location, the job's status URL. GET on it answers
// 202 (X-Progress: rows read so far) while the import runs, then 200 with the import's report
// (the JSON `kodomohub import --report` summarises), or the error that stopped it. Only the
// caller who started a job may see it. The writes are decided and audited as the caller's,
// by ingest; jobs live in the serving process for importJobTTL after they end.

// importJobTTL is how long a finished job's report stays readable.
const importJobTTL = time.Hour

// importJob is one running or finished import.
type importJob struct {
	id, tenant, owner string
	rows              atomic.Int64
	done              chan struct{}
	report            *importer.Report
	err               error
	ended             time.Time
}

// importJobs are the jobs of this process.
type importJobs struct {
	mu   sync.Mutex
	jobs map[string]*importJob
}

func (j *importJobs) add(job *importJob) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jobs == nil {
		j.jobs = map[string]*importJob{}
	}
	for id, old := range j.jobs { // forget what ended long ago
		select {
		case <-old.done:
			if time.Since(old.ended) > importJobTTL {
				delete(j.jobs, id)
			}
		default:
		}
	}
	j.jobs[job.id] = job
}

func (j *importJobs) get(id string) *importJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.jobs[id]
}

// owner names the caller who may see a job.
func owner(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	return p.Issuer + "\x00" + p.Subject + "\x00" + p.ClientID
}

// importSource serves POST [base]/$import-source.
func (rc *reqContext) importSource() {
	if rc.importer == nil {
		rc.fail(unsupportedOperation("$import-source"))
		return
	}
	if err := rc.allow(auth.OpCreate, auth.Type("Provenance")); err != nil {
		rc.fail(err)
		return
	}
	q := rc.c.Request.URL.Query()
	source := q.Get("source")
	if _, ok := rc.importer.Specs.Get(source); !ok {
		rc.fail(fhir.ErrorAt(fhir.KindInvalid, fhir.IssueValue, "http.source", "source %q is not one of %s",
			source, strings.Join(rc.importer.Specs.Names(), ", ")))
		return
	}
	if rc.tenant.LGCode == "" {
		rc.fail(fhir.Errorf(fhir.KindConflict, fhir.IssueProcessing,
			"the town %s has no local government code: set it with `kodomohub tenant configure %s --lg-code CODE` before importing",
			rc.tenant.ID, rc.tenant.ID))
		return
	}
	dryRun, _ := strconv.ParseBool(q.Get("dryRun"))
	// An upload may take longer than an ordinary body.
	_ = http.NewResponseController(rc.c.Writer).SetReadDeadline(time.Now().Add(rc.limits.ImportTimeout))
	files, cleanup, err := rc.uploadedFiles()
	if err != nil {
		rc.fail(err)
		return
	}
	job := &importJob{id: newJobID(), tenant: rc.tenant.ID, owner: owner(rc.view.Principal()), done: make(chan struct{})}
	req := &ingest.Request{Tenant: rc.tenant, Principal: rc.view.Principal(), Declared: rc.view.Declared(),
		Base: rc.base, Address: rc.c.ClientIP(), RequestID: "import-source/" + job.id}
	ctx := context.WithoutCancel(rc.c.Request.Context())
	rc.imports.add(job)
	go func() {
		defer close(job.done)
		defer cleanup()
		rep, err := rc.importer.Import(ctx, importer.Options{Source: source, Request: req, DryRun: dryRun,
			Progress: func(n int64) { job.rows.Store(n) }}, files)
		job.report, job.err, job.ended = rep, err, time.Now()
		if err != nil {
			rc.log.Warn("import failed", "tenant", job.tenant, "job", job.id, "source", source, "err", err)
		}
	}()
	rc.c.Header("Content-Location", rc.base+"/$import-source/"+job.id)
	rc.writeJSON(rc.c, http.StatusAccepted, fhir.Info(fmt.Sprintf("the import of %d file(s) as %s started; its status is at %s",
		len(files), source, rc.base+"/$import-source/"+job.id)))
}

// importStatus serves GET [base]/$import-source/{job}.
func (rc *reqContext) importStatus(id string) {
	job := rc.imports.get(id)
	if job == nil || job.tenant != rc.tenant.ID || job.owner != owner(rc.view.Principal()) {
		rc.fail(fhir.Errorf(fhir.KindNotFound, fhir.IssueNotFound, "no import job %s", id))
		return
	}
	select {
	case <-job.done:
	default:
		rc.c.Header("X-Progress", fmt.Sprintf("%d rows read", job.rows.Load()))
		rc.c.Header("Retry-After", "1")
		rc.writeJSON(rc.c, http.StatusAccepted, fhir.Info(fmt.Sprintf("importing: %d rows read", job.rows.Load())))
		return
	}
	if job.err != nil && job.report == nil {
		rc.fail(importError(job.err))
		return
	}
	if job.err != nil {
		rc.c.Header("X-Import-Error", job.err.Error())
	}
	rc.writeJSON(rc.c, http.StatusOK, job.report)
}

// importError is what a client is told of an import that could not run.
func importError(err error) error {
	if fhir.AsError(err) != nil {
		return err
	}
	return fhir.Wrap(err, fhir.KindUnprocessable, fhir.IssueProcessing, "%s", err.Error())
}

// uploadedFiles stores the files of a multipart/form-data upload in temporary files.
func (rc *reqContext) uploadedFiles() ([]importer.File, func(), error) {
	var paths []string
	cleanup := func() {
		for _, p := range paths {
			os.Remove(p)
		}
	}
	mt, _, err := mime.ParseMediaType(rc.c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, cleanup, fhir.Errorf(fhir.KindUnsupportedMediaType, fhir.IssueNotSupported,
			"$import-source takes the files as multipart/form-data, each part with its file name")
	}
	body := http.MaxBytesReader(rc.c.Writer, rc.c.Request.Body, rc.limits.MaxImportBytes)
	rc.c.Request.Body = body
	mr, err := rc.c.Request.MultipartReader()
	if err != nil {
		return nil, cleanup, fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "the upload is not multipart/form-data: %v", err)
	}
	var files []importer.File
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cleanup()
			return nil, func() {}, rc.uploadError(err)
		}
		name := part.FileName()
		if name == "" {
			part.Close()
			continue
		}
		tmp, err := os.CreateTemp("", "kodomohub-import-*")
		if err != nil {
			cleanup()
			return nil, func() {}, err
		}
		paths = append(paths, tmp.Name())
		_, err = io.Copy(tmp, part)
		part.Close()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			cleanup()
			return nil, func() {}, rc.uploadError(err)
		}
		path := tmp.Name()
		files = append(files, importer.File{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	if len(files) == 0 {
		return nil, cleanup, fhir.Errorf(fhir.KindInvalid, fhir.IssueRequired, "the upload has no file: send each file as a part with a file name")
	}
	return files, cleanup, nil
}

// uploadError is the answer to an upload that could not be read: too large, or broken.
func (rc *reqContext) uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fhir.Errorf(fhir.KindTooLarge, fhir.IssueTooLong, "the upload is larger than %d bytes", rc.limits.MaxImportBytes)
	}
	return fhir.Wrap(err, fhir.KindInvalid, fhir.IssueStructure, "the upload could not be read: %v", err)
}

func newJobID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
