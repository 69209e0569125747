// What to do when no box has reported: the report URL and a curl line to try it, ready to copy.
import { useState } from 'preact/hooks';
import { t } from '../i18n/index.js';

/** The receiver's default report path (src/server/app.ts DEFAULTS.path). */
const REPORT_PATH = '/DeviceStatus';

export function reportUrl(): string {
  return `${location.origin}${REPORT_PATH}`;
}

export function curlLine(devSno = 'TEST-BOX-0001'): string {
  const body = JSON.stringify({
    dev_sno: devSno,
    sub_devices: [{ ep_id: `${devSno}__192.168.1.10`, ep_ip: '192.168.1.10', ep_status: 'online', ep_location: 'lobby', ep_type: 'rtsp' }],
  });
  return `curl -X POST '${reportUrl()}' -H 'content-type: application/json' -d '${body}'`;
}

function CopyButton({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small-button"
      onClick={() => {
        void navigator.clipboard
          ?.writeText(text)
          .then(() => setDone(true))
          .catch(() => setDone(false));
      }}
    >
      {done ? t('help.copied') : t('help.copy')}
    </button>
  );
}

export function ReportHelp({ devSno }: { devSno?: string }) {
  const curl = curlLine(devSno);
  return (
    <div class="report-help">
      <p>{t('help.pointBoxes')}</p>
      <div class="copy-line">
        <code class="report-url">{reportUrl()}</code>
        <CopyButton text={reportUrl()} />
      </div>
      <p>{t('help.tryCurl')}</p>
      <div class="copy-line">
        <code class="curl-line">{curl}</code>
        <CopyButton text={curl} />
      </div>
    </div>
  );
}
