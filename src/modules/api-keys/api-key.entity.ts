import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { KeyScope } from '../../core/tenancy/tenant-scope';

@Entity('api_keys')
export class ApiKey {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: number;

  @Column({ type: 'bigint' })
  projectId: number;

  @Column({ type: 'varchar', length: 8 })
  prefix: string;

  /** bcrypt hash of the whole key; the secret itself is never stored. */
  @Column({ type: 'varchar', length: 100 })
  keyHash: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name: string | null;

  @Column({ type: 'text', array: true })
  scopes: KeyScope[];

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
