/**
 * The workspace a Slack request acts for comes from Bolt's authorisation, and an org-wide
 * installation, whose team Bolt would take from the payload, acts for none.
 */
import type { Context } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { authorisedInstallation, authorisedTeam } from '../../src/platforms/slack/tenant.js';

describe('the workspace a Slack request acts for', () => {
  it('is the team Bolt authorised for a workspace installation', () => {
    expect(authorisedTeam({ isEnterpriseInstall: false, teamId: 'T0ALPHA' } as Context)).toEqual({
      teamId: 'T0ALPHA',
    });
  });

  it('is none for an org-wide installation, whatever team the payload names', () => {
    expect(
      authorisedTeam({ isEnterpriseInstall: true, enterpriseId: 'E0ORG', teamId: 'T0PARTNER' } as Context),
    ).toEqual({});
  });
});

describe('the installation a Slack request came through', () => {
  it('is the organisation for an org-wide installation, so its answer can be finished elsewhere', () => {
    expect(
      authorisedInstallation({
        isEnterpriseInstall: true,
        enterpriseId: 'E0ORG',
        teamId: 'T0PARTNER',
      } as Context),
    ).toEqual({ orgInstall: 'E0ORG' });
  });

  it('is nothing more than the workspace for a workspace installation, in a grid or not', () => {
    expect(
      authorisedInstallation({
        isEnterpriseInstall: false,
        enterpriseId: 'E0ORG',
        teamId: 'T0ALPHA',
      } as Context),
    ).toEqual({});
  });
});
