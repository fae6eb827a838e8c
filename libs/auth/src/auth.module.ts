import { Global, Module, type DynamicModule } from '@nestjs/common';
import { TICKET_CLOCK, TicketService } from './tickets.js';
import { TOKEN_VERIFIER_OPTIONS, TokenVerifier, type TokenVerifierOptions } from './token-verifier.js';

export type AuthModuleOptions = TokenVerifierOptions;

/**
 * Provides TokenVerifier and TicketService, globally. Needs REVOCATION_STORE and TICKET_STORE from
 * @herald/state (the composition root's state module provides the chosen drivers). Import it as
 * `AuthModule` for the defaults (no leeway, wall clock) or `AuthModule.forRoot({ leewaySeconds, now })`.
 */
@Global()
@Module({ providers: [TokenVerifier, TicketService], exports: [TokenVerifier, TicketService] })
export class AuthModule {
  static forRoot(options: AuthModuleOptions = {}): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [
        { provide: TOKEN_VERIFIER_OPTIONS, useValue: options },
        { provide: TICKET_CLOCK, useValue: options.now ?? Date.now },
      ],
    };
  }
}
