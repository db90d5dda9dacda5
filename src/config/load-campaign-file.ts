import { readFile } from 'node:fs/promises';
import { FleetError } from '../errors/index.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';
import { parseCampaignText } from './parse-campaign-text.js';

/** The only impure file of src/config: reads the campaign file; parsing and validation are pure. */
export async function loadCampaignFile(path: string): Promise<CampaignFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new FleetError('FR_ERR_FILE_UNREADABLE', `cannot read the campaign file (${reason})`, { file: path });
  }
  return parseCampaignText(text.replace(/^\ufeff/, ''), path);
}

/** Settings when no campaign file is given: every default of the schema. */
export function defaultCampaignFile(): CampaignFile {
  return campaignFileSchema.parse({});
}
