import { TranslationBundle } from '@jupyterlab/translation';
import * as QRCode from 'qrcode';
import * as React from 'react';

/** Black on white whatever the theme: scanners read dark modules on a light field reliably,
 * and the inverse not always. The quiet zone (margin) belongs to the code for the same reason. */
const QR_OPTIONS: QRCode.QRCodeToStringOptions = {
  type: 'svg',
  errorCorrectionLevel: 'M',
  margin: 2,
  color: { dark: '#000000ff', light: '#ffffffff' }
};

/**
 * The QR code of the enrolment's otpauth URI, as an SVG image. The URI (which holds the secret)
 * is drawn, never written into the page as text; the image is dropped with the enrolment.
 */
export function VaultTotpQr(props: { uri: string; trans: TranslationBundle }): JSX.Element {
  const { uri, trans } = props;
  const [image, setImage] = React.useState<string | null>(null);
  const [failed, setFailed] = React.useState(false);

  React.useEffect(() => {
    let current = true;
    setImage(null);
    setFailed(false);
    QRCode.toString(uri, QR_OPTIONS).then(
      svg => {
        if (current) {
          setImage(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
        }
      },
      () => {
        if (current) {
          setFailed(true);
        }
      }
    );
    return () => {
      current = false;
    };
  }, [uri]);

  if (failed) {
    return (
      <p className="wd-vault-error" role="alert" data-testid="wd-vault-totp-qr-error">
        {trans.__('The QR code could not be drawn. Type the key below into the app instead.')}
      </p>
    );
  }
  return (
    <div className="wd-vault-totp-qrFrame">
      {image && (
        <img
          className="wd-vault-totp-qr"
          data-testid="wd-vault-totp-qr"
          src={image}
          alt={trans.__(
            'QR code of the two-factor enrolment link, to scan with an authenticator app'
          )}
        />
      )}
    </div>
  );
}
