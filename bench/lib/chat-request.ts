// Realistic OpenAI chat request bodies for the benchmark: a system prompt plus six turns of history,
// about 2 KB, the size of a typical assistant conversation a few turns in. A handful of variants differ
// only in the last user message, so the upstream and the gateway do not see one byte-identical request
// over and over, while the bodies stay pre-serialized (no per-request cost in the load generator).

export const CHAT_PATH = '/v1/chat/completions';

/** Sent by every benchmark client to every target, so all three see the same request. */
export const CHAT_HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  authorization: 'Bearer sk-bench',
};

const SYSTEM_PROMPT =
  'You are Nimbus, the support assistant of Acme Cloud Storage. Answer questions about accounts, billing, ' +
  'storage plans, file sharing and the desktop sync client. Be concise and friendly, use short paragraphs ' +
  'and bullet lists when listing steps. Never invent features or prices: if you are not sure, say so and ' +
  'offer to open a ticket with a human agent. Do not ask for passwords or full card numbers. When a user ' +
  'reports data loss, first check whether the file is in the trash (kept 30 days) or in version history ' +
  '(kept 90 days on Pro and Business plans). Today is a weekday; support agents are available 8am-6pm CET.';

const HISTORY = [
  { role: 'assistant', content: 'Hi! I am Nimbus, the Acme Cloud Storage assistant. How can I help you today?' },
  {
    role: 'user',
    content:
      'Hello. I deleted a folder called "Q3 reports" from my laptop yesterday by mistake and the sync client ' +
      'removed it everywhere. I am on the Pro plan. Can I get it back?',
  },
  {
    role: 'assistant',
    content:
      'Sorry to hear that! Good news: deleted items stay in the trash for 30 days. To restore the folder:\n' +
      '- Sign in at app.acmecloud.example and open Trash in the left menu.\n' +
      '- Find "Q3 reports", select it and click Restore.\n' +
      'The sync client will then download it again to your laptop. Would you like help with anything else?',
  },
  {
    role: 'user',
    content:
      'Found it and restored it, thanks. But one spreadsheet inside was overwritten last week with a broken ' +
      'version before I deleted it. Is the older version still there somewhere?',
  },
  {
    role: 'assistant',
    content:
      'Yes. On the Pro plan, version history keeps earlier versions for 90 days. Right-click the spreadsheet ' +
      'in the web app, choose Version history, pick the version from before the overwrite and click Restore ' +
      'this version. The current broken copy stays in the history too, so nothing is lost.',
  },
];

const LAST_USER_MESSAGES = [
  'That worked. How do I stop the sync client from deleting files everywhere when I delete them locally?',
  'Great, thanks. Can I share the restored folder with an external accountant without giving edit rights?',
  'Perfect. Is there a way to get an email when someone deletes a file in a shared folder?',
  'Thanks! How much would it cost to move from Pro to Business for a team of five people?',
  'It restored fine. Does restoring an old version count against my storage quota?',
  'Done, thank you. Can I see who overwrote the spreadsheet in the first place?',
  'Thanks a lot. Will the desktop client keep older versions locally as well, or only in the cloud?',
  'Restored. Last question: how do I export the whole folder as a zip for an offline backup?',
];

/** Pre-serialized bodies, one per last-message variant. */
export function chatBodies(stream: boolean): Buffer[] {
  return LAST_USER_MESSAGES.map((last) =>
    Buffer.from(
      JSON.stringify({
        model: 'gpt-4o',
        messages: [{ role: 'system', content: SYSTEM_PROMPT }, ...HISTORY, { role: 'user', content: last }],
        temperature: 0.7,
        // What the official SDKs send for streaming when the caller wants token usage.
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
    ),
  );
}
